import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { organizations } from "../../../drizzle/schema";
import { invalidateOrganizationGrants } from "../../services/api-key-lookup";
import { requestCache } from "../../middleware/server-timing";
import { toOrganizationResource } from "../../services/organizations";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse, shortText, timeZone } from "../../lib/schemas";
import { notFound } from "../../lib/errors";
import { organizationSchema } from "./create-organization";
import type { App } from "../../hono/env";

export const updateOrganizationBody = z
  .object({
    creditsBalance: z.number().int().min(0).max(2_000_000_000).optional(),
    name: shortText(200).optional(),
    timezone: timeZone.optional(),
  })
  .strict()
  .openapi("UpdateOrganization");

export const route = createRoute({
  method: "patch",
  path: "/api/admin/organizations/{id}",
  summary: "Change an organization's credits balance (billing lives elsewhere), name or timezone",
  tags: ["admin"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateOrganizationBody) },
  responses: { 200: jsonResponse("The organization", z.object({ data: organizationSchema })), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const [row] = await c
      .get("db")
      .update(organizations)
      .set({ ...body, updatedAt: c.get("deps").clock.now() })
      .where(eq(organizations.id, id))
      .returning();
    if (!row) throw notFound("Organization");
    await c.get("deps").cache.invalidateOrg(id);
    // requests carry the organization's name, zone and balance from their key's cached grant
    await invalidateOrganizationGrants({ db: c.get("db"), cache: requestCache(c) }, id);
    return c.json({ data: toOrganizationResource(row) }, 200);
  });
}
