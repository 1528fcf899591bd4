import { createRoute, z } from "@hono/zod-openapi";
import { CALL_DIRECTIONS, CALL_OUTCOMES, CALL_STATUSES } from "../../../drizzle/schema/enums";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { windowQuery } from "../../lib/windows";
import { OVERVIEW_DEFAULT_DAYS, overviewAggregate } from "../../read-models/overview";
import { windowedAggregate, windowedMetaSchema } from "./windowed-aggregate";
import type { App } from "../../hono/env";
import { checkedAnswer } from "../../lib/respond";

const rate = z.number().min(0).max(1).nullable();

export const recentCallSchema = z.object({
  id: z.uuid(),
  status: z.enum(CALL_STATUSES),
  direction: z.enum(CALL_DIRECTIONS),
  startedAt: z.string(),
  durationSec: z.number().int().nullable(),
  outcome: z.enum(CALL_OUTCOMES).nullable(),
  leadScore: z.number().int().nullable(),
  agent: z.object({ id: z.uuid(), name: z.string() }).nullable(),
  contact: z.object({ id: z.uuid(), name: z.string().nullable(), phone: z.string() }),
});

const callMetricsSchema = z.object({
  total: z.number().int(),
  completed: z.number().int(),
  successRate: rate,
  totalDurationSec: z.number().int(),
  avgDurationSec: z.number().nullable(),
});

const leadMetricsSchema = z.object({
  total: z.number().int().openapi({ description: "calls with a lead score" }),
  qualified: z.number().int().openapi({ description: "lead score ≥ 70" }),
  conversionRate: rate,
  avgScore: z.number().nullable(),
  booked: z.number().int().openapi({ description: "calls (scored or not) with outcome appointment_booked" }),
});

export const overviewSchema = z
  .object({
    calls: callMetricsSchema,
    leads: leadMetricsSchema,
    credits: z.object({
      balance: z.number().int(),
      usedThisMonth: z.number().int().openapi({ description: "credits of calls started in the current local calendar month, whatever the window" }),
    }),
    agents: z.object({
      total: z.number().int().openapi({ description: "agents that are not archived" }),
      active: z.number().int(),
      draft: z.number().int(),
      paused: z.number().int(),
    }),
    pipelineValueCents: z.number().int().openapi({ description: "service prices of scheduled appointments from now on" }),
    recentActivity: z.array(recentCallSchema).openapi({ description: "the 10 newest calls of the window, newest first" }),
    previous: z
      .object({ calls: callMetricsSchema, leads: leadMetricsSchema })
      .optional()
      .openapi({ description: "with compare=previous only: calls and leads over the window of the same length that ends where this one starts" }),
  })
  .openapi("DashboardOverview");

export const overviewResponseSchema = z.object({
  data: overviewSchema,
  meta: windowedMetaSchema.extend({
    previous: z
      .object({ from: z.string(), to: z.string() })
      .optional()
      .openapi({ description: "with compare=previous only: the previous window, half-open [from, to)" }),
  }),
});

export const overviewQuery = windowQuery(OVERVIEW_DEFAULT_DAYS).extend({
  compare: z.enum(["previous"]).optional().openapi({
    description:
      "previous: also answer `previous` (calls and leads) over the window of the same length before this one: the N local days before for days=N, [from − (to − from), from) for from/to",
  }),
});

export const route = createRoute({
  method: "get",
  path: "/api/dashboard/overview",
  summary: "Calls, leads, credits, agents, pipeline and recent activity of a window",
  tags: ["dashboard"],
  security: bearer,
  request: { query: overviewQuery },
  responses: { 200: jsonResponse("The overview", overviewResponseSchema), ...errorResponses },
});

export type OverviewQuery = z.infer<typeof overviewQuery>;
export type OverviewResponse = z.infer<typeof overviewResponseSchema>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const answer = await windowedAggregate(c, { ...overviewAggregate, query: c.req.valid("query") });
    return c.json(checkedAnswer(c.get("deps").validateResponses, overviewResponseSchema, answer), 200);
  });
}
