import { createRoute, z } from "@hono/zod-openapi";
import type { AppDeps } from "../../deps";
import { pingDatabase } from "../../ops/health";
import { rollupLagSeconds } from "../../ops/job-runs";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, requestMetricsOf } from "../../ops/metrics";
import type { VoiceClient } from "../../voice/client";
import type { App } from "../../hono/env";

export const route = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics of this instance: request durations per route, cache counters, rollup lag, jobs (unauthenticated)",
  tags: ["operations"],
  responses: {
    200: { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: z.string() } } },
  },
});

/** The voice-provider client, when the runtime wired one into the dependencies (its breaker state is reported). */
const voiceClientOf = (deps: AppDeps): Pick<VoiceClient, "breakerState"> | undefined => (deps as AppDeps & { voice?: Pick<VoiceClient, "breakerState"> }).voice;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { deps } = c.var;
    // job_runs is read within the health timeout: a scrape never hangs on the database, it reports it down
    const database = await pingDatabase({ db: c.var.db, clock: deps.clock, logger: deps.logger });
    const voiceBreaker = voiceClientOf(deps)?.breakerState;
    const text = renderMetrics({
      requests: requestMetricsOf(deps),
      cache: deps.cache.stats(),
      jobs: database.jobs,
      rollupLagSec: database.jobs ? rollupLagSeconds(database.jobs, deps.clock.now()) : null,
      ...(voiceBreaker ? { voiceBreaker } : {}),
    });
    c.header("cache-control", "no-store");
    return c.text(text, 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });
}
