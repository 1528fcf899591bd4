import { createRoute, z } from "@hono/zod-openapi";
import { createOrganization, toOrganizationResource } from "../../services/organizations";
import { bearer, errorResponses, jsonBody, jsonResponse, shortText, timeZone } from "../../lib/schemas";
import type { App } from "../../hono/env";

export const createOrganizationBody = z
  .object({ name: shortText(200), timezone: timeZone.default("UTC"), creditsBalance: z.number().int().min(0).max(2_000_000_000).optional() })
  .strict()
  .openapi("CreateOrganization");

export const organizationSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    creditsBalance: z.number().int(),
    hasWebhookSecret: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("Organization");

export const route = createRoute({
  method: "post",
  path: "/api/admin/organizations",
  summary: "Create an organization and its first write key (shown once)",
  tags: ["admin"],
  security: bearer,
  request: jsonBody(createOrganizationBody),
  responses: {
    201: jsonResponse("The organization and a new write key", z.object({ data: z.object({ organization: organizationSchema, apiKey: z.string() }) })),
    ...errorResponses,
  },
});

export type CreateOrganizationRequest = z.infer<typeof createOrganizationBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { organization, apiKey } = await createOrganization(c.get("db"), c.req.valid("json"));
    return c.json({ data: { organization: toOrganizationResource(organization), apiKey } }, 201);
  });
}
