import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { toServiceResource, updateService } from "../../services/services";
import { serviceFields, serviceSchema } from "./service-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const updateServiceBody = z.object(serviceFields).partial().strict().openapi("UpdateService");

export const route = createRoute({
  method: "patch",
  path: "/api/services/{id}",
  summary: "Change the fields sent of one service",
  tags: ["services"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateServiceBody) },
  responses: { 200: jsonResponse("The changed service", z.object({ data: serviceSchema })), ...errorResponses },
});

export type UpdateServiceRequest = z.infer<typeof updateServiceBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const service = await updateService(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ data: toServiceResource(service) }, 200);
  });
}
