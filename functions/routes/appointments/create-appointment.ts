import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../lib/schemas";
import { createAppointment, toAppointmentResource } from "../../services/appointments";
import { appointmentFields, appointmentSchema, contactChoice, evenWithFieldErrors } from "./appointment-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

export const createAppointmentBody = z
  .object({ ...appointmentFields, status: appointmentFields.status.default("scheduled") })
  .partial({ contactId: true, phoneNumber: true, contactName: true, callId: true, serviceId: true })
  .strict()
  .superRefine(contactChoice(true), evenWithFieldErrors)
  .openapi("CreateAppointment", {
    description: "Name the contact by contactId, or by phoneNumber (the contact is created when new). status defaults to scheduled.",
  });

export const route = createRoute({
  method: "post",
  path: "/api/appointments",
  summary: "Book an appointment",
  tags: ["appointments"],
  security: bearer,
  request: jsonBody(createAppointmentBody),
  responses: { 201: jsonResponse("The new appointment", z.object({ data: appointmentSchema })), ...errorResponses },
});

export type CreateAppointmentRequest = z.infer<typeof createAppointmentBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const appointment = await createAppointment(serviceContext(c), c.req.valid("json"));
    return c.json({ data: toAppointmentResource(appointment) }, 201);
  });
}
