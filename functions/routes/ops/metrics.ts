import { createRoute, z } from "@hono/zod-openapi";
import type { Db } from "../../db/database";
import type { AppDeps } from "../../deps";
import { memoizeFor } from "../../lib/memo";
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

/** Issue #18: /metrics is public, so its statements run at most once a second per app instance (the counters are live). */
export const METRICS_MEMO_MS = 1_000;

export function register(app: App) {
  // per app instance, built on its first request (nothing at module scope)
  let ping: ((db: Db) => ReturnType<typeof pingDatabase>) | undefined;
  app.openapi(route, async (c) => {
    const deps = c.get("deps");
    // job_runs is read within the health timeout: a scrape never hangs on the database, it reports it down
    ping ??= memoizeFor(deps.clock, METRICS_MEMO_MS, (db: Db) => pingDatabase({ db, clock: deps.clock, logger: deps.logger }));
    const database = await ping(c.get("db"));
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
