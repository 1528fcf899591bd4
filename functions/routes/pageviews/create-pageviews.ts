import { createRoute, z } from "@hono/zod-openapi";
import { bearer, countryCode, errorResponses, instant, jsonBody, jsonResponse, uuid } from "../../lib/schemas";
import { MAX_PAGEVIEWS_PER_REQUEST, recordPageviews } from "../../services/pageviews";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const pageviewEventSchema = z
  .object({ poolId: uuid.nullable(), siteId: uuid.nullable(), countryCode: countryCode.nullable(), createdAt: instant })
  .partial()
  .strict()
  .openapi("PageviewEvent", { description: "createdAt defaults to the time the batch is received." });

export const createPageviewsBody = z
  .object({ events: z.array(pageviewEventSchema).min(1).max(MAX_PAGEVIEWS_PER_REQUEST) })
  .strict()
  .openapi("CreatePageviews");

export const route = createRoute({
  method: "post",
  path: "/api/pageviews",
  summary: `Record widget pageviews, 1 to ${MAX_PAGEVIEWS_PER_REQUEST} events a request`,
  tags: ["widget"],
  security: bearer,
  request: jsonBody(createPageviewsBody),
  responses: {
    201: jsonResponse("How many events were recorded", z.object({ data: z.object({ accepted: z.number().int() }) })),
    ...errorResponses,
  },
});

export type CreatePageviewsRequest = z.infer<typeof createPageviewsBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const accepted = await recordPageviews(serviceContext(c), c.req.valid("json").events);
    return c.json({ data: { accepted } }, 201);
  });
}
