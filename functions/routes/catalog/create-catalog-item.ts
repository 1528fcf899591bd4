import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { createCatalogItem, toCatalogItemResource } from "../../services/catalog";
import { catalogItemFields, catalogItemSchema } from "./catalog-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const createCatalogItemBody = z.object(catalogItemFields).strict().openapi("CreateService");

export const route = createRoute({
  method: "post",
  path: "/api/services",
  summary: "Create a bookable service",
  tags: ["services"],
  security: bearer,
  request: jsonBody(createCatalogItemBody),
  responses: { 201: jsonResponse("The new service", z.object({ data: catalogItemSchema })), ...errorResponses },
});

export type CreateCatalogItemRequest = z.infer<typeof createCatalogItemBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const service = await createCatalogItem(serviceContext(c), c.req.valid("json"));
    return c.json({ data: toCatalogItemResource(service) }, 201);
  });
}
