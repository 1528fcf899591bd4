import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { createService, toServiceResource } from "../../services/services";
import { serviceFields, serviceSchema } from "./service-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const createServiceBody = z.object(serviceFields).strict().openapi("CreateService");

export const route = createRoute({
  method: "post",
  path: "/api/services",
  summary: "Create a bookable service",
  tags: ["services"],
  security: bearer,
  request: jsonBody(createServiceBody),
  responses: { 201: jsonResponse("The new service", z.object({ data: serviceSchema })), ...errorResponses },
});

export type CreateServiceRequest = z.infer<typeof createServiceBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const service = await createService(serviceContext(c), c.req.valid("json"));
    return c.json({ data: toServiceResource(service) }, 201);
  });
}
