import { createRoute, z } from "@hono/zod-openapi";
import type { CacheResult } from "../../cache/cache";
import { orgKey } from "../../cache/namespaces";
import { aggregateMeta } from "../../lib/respond";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { resolveWindow, windowQuery } from "../../lib/windows";
import { agentVariance, agentVarianceCache, VARIANCE_METRICS, type AgentVariance } from "../../read-models/agent-variance";
import type { App } from "../../hono/env";
import { readContext } from "../../middleware/request-context";
import type { ReadContext } from "../../context";

export const DEFAULT_VARIANCE_DAYS = 30;

export const agentVarianceQuery = windowQuery(DEFAULT_VARIANCE_DAYS).strict();

const metricValues = <T extends z.ZodTypeAny>(value: T) =>
  z.object(Object.fromEntries(VARIANCE_METRICS.map((m) => [m, value])) as Record<(typeof VARIANCE_METRICS)[number], T>);

const rate = z.number().min(0).max(1).nullable();

export const agentVarianceEntrySchema = z
  .object({
    agentId: z.uuid(),
    name: z.string(),
    calls: z.number().int(),
    completionRate: rate,
    avgDurationSec: z.number().nullable(),
    avgLeadScore: z.number().nullable(),
    bookingRate: rate,
    milestoneRate: rate,
    objectionHandledRate: rate,
    zScores: metricValues(z.number().nullable()),
  })
  .openapi("AgentVarianceEntry");

const teamStatSchema = z.object({
  mean: z.number().nullable(),
  stddev: z.number().nullable().openapi({ description: "population standard deviation" }),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

export const agentVarianceResponse = z.object({
  data: z.object({ agents: z.array(agentVarianceEntrySchema), team: metricValues(teamStatSchema) }).openapi("AgentVariance"),
  meta: z.object({
    asOf: z.string(),
    cache: z.enum(["hit", "miss", "stale", "bypass"]),
    ttlSec: z.number(),
    from: z.string(),
    to: z.string(),
  }),
});
export type AgentVarianceQuery = z.infer<typeof agentVarianceQuery>;
export type AgentVarianceResponse = z.infer<typeof agentVarianceResponse>;

export const route = createRoute({
  method: "get",
  path: "/api/analytics/agent-variance",
  summary: "How each agent compares with the team over a window: metrics, team distribution and z-scores",
  tags: ["analytics"],
  security: bearer,
  request: { query: agentVarianceQuery },
  responses: { 200: jsonResponse("Per-agent metrics and the team's distribution", agentVarianceResponse), ...errorResponses },
});

/** The variance of a window, from the cache or loaded: the route and the warm-cache job share this key and loader. */
export function fetchAgentVariance(ctx: ReadContext, query: AgentVarianceQuery): Promise<CacheResult<AgentVariance>> {
  const { org, now } = ctx;
  const window = resolveWindow(query, org.timezone, now, DEFAULT_VARIANCE_DAYS);
  // a window ending now is keyed by where it starts, so consecutive requests share one entry
  const start = query.from === undefined ? `days=${query.days ?? DEFAULT_VARIANCE_DAYS}:${window.dates[0]}` : window.from.toISOString();
  const end = query.to === undefined ? "now" : window.to.toISOString();
  return agentVarianceCache.fetch(ctx.cache, orgKey(org.id, start, end), () => agentVariance({ db: ctx.db, org }, window), { asOf: now });
}

export function register(app: App) {
  app.openapi(route, async (c) => {
    const result = await fetchAgentVariance(readContext(c), c.req.valid("query"));
    c.set("cacheStatus", result.status);
    const { from, to, ...data } = result.value;
    return c.json(agentVarianceResponse.parse({ data, meta: aggregateMeta(result, { from, to }) }), 200);
  });
}
