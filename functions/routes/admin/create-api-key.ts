import { createRoute, z } from "@hono/zod-openapi";
import { API_KEY_SCOPES } from "../../../drizzle/schema/enums";
import { createApiKey, findOrganization } from "../../services/organizations";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse, shortText } from "../../lib/schemas";
import { notFound } from "../../lib/errors";
import type { App } from "../../hono/env";

export const createApiKeyBody = z
  .object({ scope: z.enum(API_KEY_SCOPES).exclude(["admin"]), name: shortText(200).default("api key") })
  .strict()
  .openapi("CreateApiKey");

export const route = createRoute({
  method: "post",
  path: "/api/admin/organizations/{id}/keys",
  summary: "Create an API key for an organization (shown once)",
  tags: ["admin"],
  security: bearer,
  request: { params: idParam, ...jsonBody(createApiKeyBody) },
  responses: {
    201: jsonResponse("The new key", z.object({ data: z.object({ id: z.uuid(), apiKey: z.string(), scope: z.string() }) })),
    ...errorResponses,
  },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    if (!(await findOrganization(c.get("db"), id))) throw notFound("Organization");
    const key = await createApiKey(c.get("db"), { orgId: id, scope: body.scope, name: body.name });
    return c.json({ data: { id: key.id, apiKey: key.apiKey, scope: body.scope } }, 201);
  });
}
