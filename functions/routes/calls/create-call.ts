import { createRoute, z } from "@hono/zod-openapi";
import { requireOrg } from "../../middleware/auth";
import { toCallResource, upsertCall } from "../../services/calls";
import { invalidateOrgAfterWrite } from "../../services/write-invalidation";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { callFields, callSchema, externalIdField } from "./call-schemas";
import type { App } from "../../hono/env";

export const createCallBody = z
  .object({ externalId: externalIdField, ...callFields })
  .partial()
  .strict()
  .openapi("CreateCall", {
    description: "phoneNumber, direction and status are required to create a call; with an externalId that already exists, only the fields sent change.",
  });

export const route = createRoute({
  method: "post",
  path: "/api/calls",
  summary: "Record a call (upsert by externalId); creates the contact by phone number",
  tags: ["calls"],
  security: bearer,
  request: jsonBody(createCallBody),
  responses: {
    200: jsonResponse("An existing call (matched by externalId), changed", z.object({ data: callSchema })),
    201: jsonResponse("A new call", z.object({ data: callSchema })),
    ...errorResponses,
  },
});

export type CreateCallRequest = z.infer<typeof createCallBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const { call, created } = await upsertCall(c.get("db"), org.id, c.req.valid("json"), c.get("deps").clock.now());
    await invalidateOrgAfterWrite(c.get("deps").cache, org.id);
    return c.json({ data: toCallResource(call) }, created ? 201 : 200);
  });
}
