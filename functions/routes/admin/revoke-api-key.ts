import { createRoute, z } from "@hono/zod-openapi";
import { API_KEY_SCOPES } from "../../../drizzle/schema/enums";
import { notFound } from "../../lib/errors";
import { requestCache } from "../../middleware/server-timing";
import { bearer, errorResponses, jsonResponse, uuid } from "../../lib/schemas";
import { revokeApiKey } from "../../services/api-key-lookup";
import type { App } from "../../hono/env";

export const revokeApiKeyParams = z.object({
  id: uuid.openapi({ param: { name: "id", in: "path" } }),
  keyId: uuid.openapi({ param: { name: "keyId", in: "path" } }),
});

export const revokedApiKeySchema = z
  .object({
    id: z.uuid(),
    orgId: z.uuid(),
    name: z.string(),
    scope: z.enum(API_KEY_SCOPES),
    prefix: z.string().openapi({ description: "the key's first characters, to tell keys apart" }),
    createdAt: z.string(),
    revokedAt: z.string(),
  })
  .openapi("RevokedApiKey");

export const revokeApiKeyResponse = z.object({ data: revokedApiKeySchema });
export type RevokeApiKeyResponse = z.infer<typeof revokeApiKeyResponse>;

export const route = createRoute({
  method: "delete",
  path: "/api/admin/organizations/{id}/keys/{keyId}",
  summary: "Revoke an organization's API key: the next request with it answers 401 on every instance (idempotent)",
  tags: ["admin"],
  security: bearer,
  request: { params: revokeApiKeyParams },
  responses: { 200: jsonResponse("The revoked key", revokeApiKeyResponse), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { id, keyId } = c.req.valid("param");
    const revoked = await revokeApiKey({ db: c.get("db"), cache: requestCache(c), clock: c.get("deps").clock }, keyId, id);
    if (!revoked) throw notFound("API key");
    return c.json(revokeApiKeyResponse.parse({ data: revoked }), 200);
  });
}
