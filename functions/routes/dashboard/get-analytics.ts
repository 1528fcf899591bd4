import { createRoute, z } from "@hono/zod-openapi";
import { CALL_OUTCOMES } from "../../../drizzle/schema/enums";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { windowQuery } from "../../lib/windows";
import { ANALYTICS_DEFAULT_DAYS, analyticsAggregate } from "../../read-models/analytics";
import { windowedAggregate, windowedMetaSchema } from "./windowed-aggregate";
import type { App } from "../../hono/env";
import { checkedAnswer } from "../../lib/respond";

const count = z.number().int().min(0);

export const analyticsSchema = z
  .object({
    series: z
      .array(z.object({ date: z.string(), calls: count, completed: count, leads: count, qualified: count, booked: count }))
      .openapi({ description: "one point per local date of the window, ascending, zero-filled" }),
    leadQuality: z.object({ hot: count, warm: count, cold: count }).openapi({ description: "scored calls: hot ≥ 70, warm 40–69, cold < 40" }),
    outcomes: z.object(Object.fromEntries(CALL_OUTCOMES.map((o) => [o, count])) as Record<(typeof CALL_OUTCOMES)[number], typeof count>),
    byHourOfDay: z
      .array(count)
      .length(24)
      .openapi({ description: "calls by org-local wall-clock hour; a fall-back day's repeated hour holds both occurrences" }),
  })
  .openapi("DashboardAnalytics");

export const analyticsResponseSchema = z.object({ data: analyticsSchema, meta: windowedMetaSchema });

export const route = createRoute({
  method: "get",
  path: "/api/dashboard/analytics",
  summary: "Daily series, lead quality, outcomes and calls by local hour of a window (at most 90 local days)",
  tags: ["dashboard"],
  security: bearer,
  request: { query: windowQuery(ANALYTICS_DEFAULT_DAYS) },
  responses: { 200: jsonResponse("The analytics", analyticsResponseSchema), ...errorResponses },
});

export type AnalyticsQuery = z.infer<ReturnType<typeof windowQuery>>;
export type AnalyticsResponse = z.infer<typeof analyticsResponseSchema>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const answer = await windowedAggregate(c, { ...analyticsAggregate, query: c.req.valid("query") });
    return c.json(checkedAnswer(c.get("deps").validateResponses, analyticsResponseSchema, answer), 200);
  });
}
