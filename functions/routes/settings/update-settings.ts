import { createRoute, z } from "@hono/zod-openapi";
import { bearer, errorResponses, jsonBody, jsonResponse, shortText, timeZone } from "../../lib/schemas";
import { updateSettings } from "../../services/settings";
import { settingsSchema } from "./settings-schemas";
import type { App } from "../../hono/env";
import { serviceContext } from "../../middleware/request-context";

/** Printable ASCII without spaces, long enough to resist guessing. */
export const webhookSecret = z.string().regex(/^[\x21-\x7E]{16,256}$/, { message: "must be 16 to 256 printable ASCII characters without spaces" });

export const updateSettingsBody = z
  .object({
    name: shortText(200),
    timezone: timeZone,
    webhookSecret: webhookSecret.nullable(),
    voiceProvider: z
      .object({ apiKeyRef: z.string().trim().min(1).max(200).nullable(), region: z.string().trim().min(1).max(64).nullable() })
      .partial()
      .strict()
      .nullable(),
  })
  .partial()
  .strict()
  .openapi("UpdateSettings", {
    description: "Changes only the fields sent. webhookSecret is write-only (null removes it); voiceProvider is replaced as a whole.",
  });

export const route = createRoute({
  method: "patch",
  path: "/api/settings",
  summary: "Change the organization's settings: name, timezone, webhook secret, voice provider",
  tags: ["configuration"],
  security: bearer,
  request: jsonBody(updateSettingsBody),
  responses: { 200: jsonResponse("The settings", z.object({ data: settingsSchema })), ...errorResponses },
});

export type UpdateSettingsRequest = z.infer<typeof updateSettingsBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const settings = await updateSettings(serviceContext(c), c.req.valid("json"));
    return c.json({ data: settings }, 200);
  });
}
