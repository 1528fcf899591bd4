import { eq, sql } from "drizzle-orm";
import { organizations, type OrganizationSettings } from "../../drizzle/schema";
import { notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { invalidateOrganizationGrants } from "./api-key-lookup";
import { fetchConfig, invalidateConfig } from "./config-cache";
import type { ServiceContext } from "../context";

type OrganizationRow = typeof organizations.$inferSelect;

export type VoiceProviderSettings = { apiKeyRef: string | null; region: string | null };

/** What PATCH /api/settings may change; `webhookSecret: null` removes the secret (the voice webhook then answers 401). */
export type SettingsInput = Partial<{
  name: string;
  timezone: string;
  webhookSecret: string | null;
  voiceProvider: Partial<VoiceProviderSettings> | null;
}>;

function voiceProviderOf(settings: OrganizationSettings): VoiceProviderSettings | null {
  const v = settings.voiceProvider;
  return v ? { apiKeyRef: v.apiKeyRef ?? null, region: v.region ?? null } : null;
}

/**
 * The public shape of an organization's settings. The webhook secret is write-only: only `hasWebhookSecret` leaves.
 * Only known keys of the settings document are answered.
 */
export function toSettingsResource(row: OrganizationRow) {
  return {
    id: row.id,
    name: row.name,
    timezone: row.timezone,
    creditsBalance: row.creditsBalance,
    hasWebhookSecret: row.webhookSecret !== null,
    voiceProvider: voiceProviderOf(row.settings),
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}
export type SettingsResource = ReturnType<typeof toSettingsResource>;

/**
 * Changes only the fields sent. `voiceProvider` is replaced as a whole. A new timezone moves every local-day window,
 * so it also outdates the organization's cached aggregates.
 */
export async function updateSettings(ctx: ServiceContext, input: SettingsInput): Promise<SettingsResource> {
  const set: Partial<typeof organizations.$inferInsert> = { updatedAt: ctx.clock.now() };
  if (input.name !== undefined) set.name = input.name;
  if (input.timezone !== undefined) set.timezone = input.timezone;
  if (input.webhookSecret !== undefined) set.webhookSecret = input.webhookSecret;
  const voiceProvider =
    input.voiceProvider === undefined
      ? undefined
      : input.voiceProvider && { apiKeyRef: input.voiceProvider.apiKeyRef ?? null, region: input.voiceProvider.region ?? null };
  const [row] = await ctx.db
    .update(organizations)
    .set({
      ...set,
      ...(voiceProvider !== undefined
        ? { settings: sql`${organizations.settings} || jsonb_build_object('voiceProvider', ${JSON.stringify(voiceProvider)}::jsonb)` }
        : {}),
    })
    .where(eq(organizations.id, ctx.org.id))
    .returning();
  if (!row) throw notFound("Organization");
  await invalidateConfig(ctx, "settings");
  if (input.timezone !== undefined && input.timezone !== ctx.org.timezone) await ctx.cache.invalidateOrg(ctx.org.id);
  // requests carry the organization's name and zone from their key's cached grant
  if (input.name !== undefined || input.timezone !== undefined) await invalidateOrganizationGrants(ctx, ctx.org.id);
  return toSettingsResource(row);
}

/** The organization's settings from the config cache (one statement on a miss). */
export function getSettings(ctx: Pick<ServiceContext, "db" | "cache" | "org">) {
  return fetchConfig(ctx, "settings", async () => {
    const [row] = await ctx.db.select().from(organizations).where(eq(organizations.id, ctx.org.id)).limit(1);
    if (!row) throw notFound("Organization");
    return toSettingsResource(row);
  });
}
