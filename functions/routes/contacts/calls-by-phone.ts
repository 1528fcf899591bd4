import { createRoute, z } from "@hono/zod-openapi";
import { bearer, e164, errorResponses, jsonResponse } from "../../lib/schemas";
import { callListPage, callListQuery, callListResponse } from "../calls/list-calls";
import type { App } from "../../hono/env";

export const phoneParam = z.object({
  phone: e164.openapi({ param: { name: "phone", in: "path" }, description: "E.164; URL-encode the plus sign as %2B" }),
});

export const route = createRoute({
  method: "get",
  path: "/api/contacts/by-phone/{phone}/calls",
  summary: "Calls with one phone number, newest first, filtered and keyset-paginated like the calls list",
  tags: ["calls", "contacts"],
  security: bearer,
  request: { params: phoneParam, query: callListQuery },
  responses: { 200: jsonResponse("A page of the number's calls (empty for an unknown number)", callListResponse), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { phone } = c.req.valid("param");
    const query = c.req.valid("query");
    const { direction, status, agentId, from, to } = query;
    c.set("cacheStatus", "bypass");
    return c.json(await callListPage(c, query, { direction, status, agentId, from, to, phoneNumber: phone }), 200);
  });
}
