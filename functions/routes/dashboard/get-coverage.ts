import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { windowQuery } from "../../lib/windows";
import { COVERAGE_DEFAULT_DAYS, coverageAggregate } from "../../read-models/coverage";
import { windowedAggregate, windowedMetaSchema } from "./windowed-aggregate";
import type { App } from "../../hono/env";
import { checkedAnswer } from "../../lib/respond";

export const coverageHourSchema = z
  .object({
    date: z.string().openapi({ description: "local calendar date" }),
    hour: z.number().int().min(0).max(23).openapi({ description: "local wall-clock hour" }),
    agentSeconds: z.number().min(0).openapi({ description: "agents' online seconds in this local hour, summed over agents" }),
    coveredSeconds: z.number().min(0).openapi({ description: "seconds of this local hour with at least one agent online" }),
  })
  .openapi("CoverageHour");

export const coverageResponseSchema = z.object({ data: z.array(coverageHourSchema), meta: windowedMetaSchema });

export const route = createRoute({
  method: "get",
  path: "/api/coverage",
  summary: "Agent coverage by local date and hour of a window (at most 90 local days); open sessions count up to meta.asOf",
  tags: ["dashboard"],
  security: bearer,
  request: { query: windowQuery(COVERAGE_DEFAULT_DAYS) },
  responses: { 200: jsonResponse("Every local date × hour 0–23 of the window, ascending", coverageResponseSchema), ...errorResponses },
});

export type CoverageQuery = z.infer<ReturnType<typeof windowQuery>>;
export type CoverageResponse = z.infer<typeof coverageResponseSchema>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const answer = await windowedAggregate(c, { ...coverageAggregate, query: c.req.valid("query") });
    return c.json(checkedAnswer(c.get("deps").validateResponses, coverageResponseSchema, answer), 200);
  });
}
