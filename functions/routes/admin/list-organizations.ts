import { createRoute, z } from "@hono/zod-openapi";
import { listOrganizationKpis, ORGANIZATION_KPI_SORTS, type OrganizationKpiSort } from "../../rollups/admin-view";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import type { App } from "../../hono/env";

const SORTS = Object.keys(ORGANIZATION_KPI_SORTS) as [OrganizationKpiSort, ...OrganizationKpiSort[]];

export const listOrganizationsQuery = z.object({
  sort: z
    .enum(SORTS, { message: `must be one of ${SORTS.join(", ")}` })
    .default("calls30d")
    .openapi({ description: "the numeric field to sort by, descending", example: "calls30d" }),
});

export const organizationKpisSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    calls30d: z.number().int(),
    completed30d: z.number().int(),
    leads30d: z.number().int(),
    qualified30d: z.number().int(),
    creditsUsed30d: z.number().int(),
  })
  .openapi("OrganizationKpis");

export const listOrganizationsResponse = z.object({
  data: z.array(organizationKpisSchema),
  meta: z.object({
    /** the refresh time of the view: every row is exact as of this instant */
    asOf: z.string(),
    cache: z.literal("bypass"),
    sort: z.enum(SORTS),
    count: z.number().int(),
  }),
});

export type ListOrganizationsQuery = z.infer<typeof listOrganizationsQuery>;
export type ListOrganizationsResponse = z.infer<typeof listOrganizationsResponse>;

export const route = createRoute({
  method: "get",
  path: "/api/admin/organizations",
  summary: "Every organization with its last 30 local days, sorted descending (from the refreshed admin view)",
  tags: ["admin"],
  security: bearer,
  request: { query: listOrganizationsQuery },
  responses: {
    200: jsonResponse("Organizations and their 30-day figures; meta.asOf is the view's refresh time", listOrganizationsResponse),
    ...errorResponses,
  },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { sort } = c.req.valid("query");
    const { asOf, organizations } = await listOrganizationKpis(c.get("db"), sort);
    c.set("cacheStatus", "bypass");
    const body = listOrganizationsResponse.parse({ data: organizations, meta: { asOf, cache: "bypass", sort, count: organizations.length } });
    return c.json(body, 200);
  });
}
