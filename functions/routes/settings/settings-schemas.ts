import { z } from "@hono/zod-openapi";

export const voiceProviderSchema = z
  .object({ apiKeyRef: z.string().nullable(), region: z.string().nullable() })
  .openapi("VoiceProviderSettings", { description: "How Tally reaches the organization's voice provider; apiKeyRef names a key kept elsewhere." });

export const settingsSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    creditsBalance: z.number().int(),
    hasWebhookSecret: z.boolean(),
    voiceProvider: voiceProviderSchema.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Settings");
