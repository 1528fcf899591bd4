import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { toCatalogItemResource, updateCatalogItem } from "../../services/catalog";
import { catalogItemFields, catalogItemSchema } from "./catalog-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const updateCatalogItemBody = z.object(catalogItemFields).partial().strict().openapi("UpdateService");

export const route = createRoute({
  method: "patch",
  path: "/api/services/{id}",
  summary: "Change the fields sent of one service",
  tags: ["services"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateCatalogItemBody) },
  responses: { 200: jsonResponse("The changed service", z.object({ data: catalogItemSchema })), ...errorResponses },
});

export type UpdateCatalogItemRequest = z.infer<typeof updateCatalogItemBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const service = await updateCatalogItem(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ data: toCatalogItemResource(service) }, 200);
  });
}
