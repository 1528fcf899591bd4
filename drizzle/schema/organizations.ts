import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamps, tstz } from "./columns";
import { apiKeyScope, userRole } from "./enums";

/** Voice-provider and other per-organization settings kept as a document; the webhook secret is a column of its own. */
export type OrganizationSettings = {
  voiceProvider?: { apiKeyRef?: string | null; region?: string | null } | null;
  [key: string]: unknown;
};

export const organizations = pgTable("organizations", {
  id: id(),
  name: text("name").notNull(),
  timezone: text("timezone").notNull().default("UTC"),
  creditsBalance: integer("credits_balance").notNull().default(0),
  webhookSecret: text("webhook_secret"),
  settings: jsonb("settings").$type<OrganizationSettings>().notNull().default({}),
  ...timestamps,
});

export const users = pgTable(
  "users",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull().unique("users_email_unique"),
    name: text("name").notNull(),
    role: userRole("role").notNull().default("agent"),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index("users_org_idx").on(t.orgId)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    /** null for platform-admin keys */
    orgId: uuid("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    scope: apiKeyScope("scope").notNull(),
    /** hex sha-256 of the key; the key itself is shown once and never stored */
    keyHash: text("key_hash").notNull().unique("api_keys_key_hash_unique"),
    /** the first characters of the key, so an operator can tell keys apart */
    prefix: text("prefix").notNull(),
    createdAt: createdAt(),
    revokedAt: tstz("revoked_at"),
  },
  (t) => [index("api_keys_org_idx").on(t.orgId)],
);

export const invites = pgTable(
  "invites",
  {
    id: id(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    token: text("token").notNull().unique("invites_token_unique"),
    expiresAt: tstz("expires_at").notNull(),
    acceptedAt: tstz("accepted_at"),
    createdAt: createdAt(),
  },
  (t) => [index("invites_pending_expiry_idx").on(t.expiresAt).where(sql`${t.acceptedAt} IS NULL`)],
);
