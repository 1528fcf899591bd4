import { createRoute, z } from "@hono/zod-openapi";
import { AGENT_KINDS, AGENT_STATUSES, CALL_OUTCOMES } from "../../../drizzle/schema/enums";
import { notFound } from "../../lib/errors";
import { bearer, errorResponses, idParam, jsonResponse } from "../../lib/schemas";
import { windowQuery } from "../../lib/windows";
import { AGENT_PERFORMANCE_DEFAULT_DAYS, fetchAgentPerformance } from "../../read-models/agent-performance";
import { aggregateMeta, checkedAnswer } from "../../lib/respond";
import { readContext } from "../../middleware/request-context";
import { agentVarianceEntrySchema } from "../analytics/agent-variance";
import { windowedMetaSchema } from "../dashboard/windowed-aggregate";
import type { App } from "../../hono/env";

const count = z.number().int().min(0);

export const agentPerformanceSchema = z
  .object({
    agent: z.object({ id: z.uuid(), name: z.string(), kind: z.enum(AGENT_KINDS), status: z.enum(AGENT_STATUSES) }),
    totals: agentVarianceEntrySchema
      .pick({ calls: true, completionRate: true, avgDurationSec: true, avgLeadScore: true, bookingRate: true, milestoneRate: true, objectionHandledRate: true })
      .openapi({ description: "the variance's seven metrics for this agent alone" }),
    series: z
      .array(
        z.object({
          date: z.string(),
          calls: count,
          completed: count,
          avgDurationSec: z.number().nullable(),
          avgLeadScore: z.number().nullable(),
          booked: count,
        }),
      )
      .openapi({ description: "one point per local date of the window, ascending, zero-filled" }),
    outcomes: z.object(Object.fromEntries(CALL_OUTCOMES.map((o) => [o, count])) as Record<(typeof CALL_OUTCOMES)[number], typeof count>),
    byHourOfDay: z.array(count).length(24).openapi({ description: "the agent's calls by org-local wall-clock hour" }),
  })
  .openapi("AgentPerformance");

export const agentPerformanceResponseSchema = z.object({ data: agentPerformanceSchema, meta: windowedMetaSchema });

export const agentPerformanceQuery = windowQuery(AGENT_PERFORMANCE_DEFAULT_DAYS).strict();

export const route = createRoute({
  method: "get",
  path: "/api/agents/{id}/performance",
  summary: "One agent over a window: totals, a daily series, outcomes and calls by local hour (at most 90 local days)",
  tags: ["agents"],
  security: bearer,
  request: { params: idParam, query: agentPerformanceQuery },
  responses: { 200: jsonResponse("The agent's performance", agentPerformanceResponseSchema), ...errorResponses },
});

export type AgentPerformanceQuery = z.infer<typeof agentPerformanceQuery>;
export type AgentPerformanceResponse = z.infer<typeof agentPerformanceResponseSchema>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const result = await fetchAgentPerformance(readContext(c), id, c.req.valid("query"));
    c.set("cacheStatus", result.status);
    // an unknown agent, or another organization's, is the same 404 (SPEC §3)
    if (result.value.value === null) throw notFound("Agent");
    const answer = { data: result.value.value, meta: aggregateMeta(result, result.value.window) };
    return c.json(checkedAnswer(c.get("deps").validateResponses, agentPerformanceResponseSchema, answer), 200);
  });
}
