import { createRoute, z } from "@hono/zod-openapi";
import { aggregateMeta, cachedAnswer, checkedAnswer } from "../../lib/respond";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { windowQuery } from "../../lib/windows";
import type { CacheResult } from "../../cache/cache";
import { type AgentVariance, DEFAULT_VARIANCE_DAYS, fetchAgentVariance, VARIANCE_METRICS } from "../../read-models/agent-variance";
import type { App } from "../../hono/env";
import { readContext } from "../../middleware/request-context";

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

export function register(app: App) {
  app.openapi(route, async (c) => {
    const result = await fetchAgentVariance(readContext(c), c.req.valid("query"));
    c.set("cacheStatus", result.status);
    return c.json(checkedAnswer(c.get("deps").validateResponses, agentVarianceResponse, agentVarianceAnswer(result)), 200);
  });
}

/** The answer for one cached variance, built once per value (`cachedAnswer`): the route's and the cached-read lane's. */
export function agentVarianceAnswer(result: CacheResult<AgentVariance>) {
  return cachedAnswer(result, () => {
    const { from, to, ...data } = result.value;
    return { data, meta: aggregateMeta(result, { from, to }) };
  });
}
