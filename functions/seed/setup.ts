import { inArray } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import { agents, inboundConfig, invites, organizations, catalogItems, users } from "../../drizzle/schema";
import type { Db } from "../db/database";
import { FIRST_NAMES, LAST_NAMES } from "./catalog";
import { emailLocalPart, type OrgModel } from "./organization";
import { Random } from "./random";
import { DAY_MS } from "../lib/time";

/** Rows per typed INSERT of the small tables: far below the 65,535 bind parameters of one statement. */
const SETUP_CHUNK = 500;

async function insertChunked<T extends PgTable>(db: Db, table: T, rows: T["$inferInsert"][]): Promise<number> {
  for (let i = 0; i < rows.length; i += SETUP_CHUNK) await db.insert(table).values(rows.slice(i, i + SETUP_CHUNK));
  return rows.length;
}

/** Organization ids of these models that already exist: seeding the same seed twice into one database is refused. */
export async function existingOrganizations(db: Db, models: readonly OrgModel[]): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < models.length; i += SETUP_CHUNK) {
    const ids = models.slice(i, i + SETUP_CHUNK).map((m) => m.id);
    const rows = await db.select({ id: organizations.id }).from(organizations).where(inArray(organizations.id, ids));
    found.push(...rows.map((r) => r.id));
  }
  return found;
}

/**
 * The small tables, in foreign-key order: organizations, users, agents, services, inbound configuration
 * (business hours, a default and an after-hours agent, a rule by caller prefix) and invites (pending, expired,
 * accepted). Answers rows per table.
 */
export async function insertSetup(db: Db, models: readonly OrgModel[]): Promise<Record<string, number>> {
  const d = (ms: number) => new Date(ms);
  const counts: Record<string, number> = {};
  counts.organizations = await insertChunked(
    db,
    organizations,
    models.map((m) => ({
      id: m.id,
      name: m.plan.name,
      timezone: m.plan.timeZone,
      creditsBalance: m.creditsBalance,
      webhookSecret: m.webhookSecret,
      settings: { voiceProvider: { apiKeyRef: null, region: m.plan.country === "US" ? "us" : "eu" }, industry: m.plan.industry.key },
      createdAt: d(m.createdAt),
      updatedAt: d(m.createdAt),
    })),
  );
  counts.users = await insertChunked(
    db,
    users,
    models.flatMap((m) => m.users.map((u) => ({ ...u, orgId: m.id, createdAt: d(m.createdAt) }))),
  );
  counts.agents = await insertChunked(
    db,
    agents,
    models.flatMap((m) =>
      m.agents.map((a) => ({
        id: a.id,
        orgId: m.id,
        userId: a.userId,
        name: a.name,
        kind: a.kind,
        status: a.status,
        voiceAgentId: a.voiceAgentId,
        description: a.description,
        createdAt: d(a.createdAt),
        updatedAt: d(a.status === "active" || a.status === "draft" ? a.createdAt : m.slots.windowStart + a.toDay * DAY_MS),
      })),
    ),
  );
  counts.services = await insertChunked(
    db,
    catalogItems,
    models.flatMap((m) => m.services.map((s) => ({ ...s, orgId: m.id, createdAt: d(m.createdAt), updatedAt: d(m.createdAt) }))),
  );
  counts.inbound_config = await insertChunked(
    db,
    inboundConfig,
    models.map((m) => {
      const active = m.agents.filter((a) => a.status === "active");
      const ai = active.filter((a) => a.kind === "ai");
      const human = active.find((a) => a.kind === "human");
      const fallback = ai[0] ?? active[0] ?? null;
      return {
        orgId: m.id,
        defaultAgentId: fallback?.id ?? null,
        afterHoursAgentId: (ai[1] ?? fallback)?.id ?? null,
        businessHours: m.businessHours,
        rules: human ? [{ prefix: m.phone.areas[0]!, agentId: human.id }] : [],
        updatedAt: d(m.now - 7 * DAY_MS),
      };
    }),
  );
  counts.invites = await insertChunked(
    db,
    invites,
    models.flatMap((m) => {
      const rng = Random.from(m.plan.key, "invites");
      const domain = m.users[0]!.email.split("@")[1]!;
      const invite = (createdDaysAgo: number, validDays: number, accepted: boolean) => {
        const createdAt = m.now - createdDaysAgo * DAY_MS;
        const email = `${emailLocalPart(`${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}`)}.${rng.hex(2)}@${domain}`;
        return {
          id: rng.uuid(),
          orgId: m.id,
          email,
          token: `inv_${rng.hex(16)}`,
          expiresAt: d(createdAt + validDays * DAY_MS),
          acceptedAt: accepted ? d(createdAt + DAY_MS) : null,
          createdAt: d(createdAt),
        };
      };
      return [invite(2, 7, false), invite(10, 7, false), invite(27, 7, true)];
    }),
  );
  return counts;
}
