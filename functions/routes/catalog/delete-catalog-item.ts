import { createRoute } from "@hono/zod-openapi";
import { bearer, errorResponses, idParam } from "../../lib/schemas";
import { deleteCatalogItem } from "../../services/catalog";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const route = createRoute({
  method: "delete",
  path: "/api/services/{id}",
  summary: "Delete a service; its appointments stay, without a service",
  tags: ["services"],
  security: bearer,
  request: { params: idParam },
  responses: { 204: { description: "Deleted" }, ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    await deleteCatalogItem(serviceContext(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
}
