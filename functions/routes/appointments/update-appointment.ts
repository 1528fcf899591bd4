import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { toAppointmentResource, updateAppointment } from "../../services/appointments";
import { appointmentFields, appointmentSchema, contactChoice, evenWithFieldErrors } from "./appointment-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const updateAppointmentBody = z
  .object(appointmentFields)
  .partial()
  .strict()
  .superRefine(contactChoice(false), evenWithFieldErrors)
  .openapi("UpdateAppointment");

export const route = createRoute({
  method: "patch",
  path: "/api/appointments/{id}",
  summary: "Change the fields sent of one appointment",
  tags: ["appointments"],
  security: bearer,
  request: { params: idParam, ...jsonBody(updateAppointmentBody) },
  responses: { 200: jsonResponse("The changed appointment", z.object({ data: appointmentSchema })), ...errorResponses },
});

export type UpdateAppointmentRequest = z.infer<typeof updateAppointmentBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const appointment = await updateAppointment(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ data: toAppointmentResource(appointment) }, 200);
  });
}
