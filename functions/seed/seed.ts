import { eq, sql } from "drizzle-orm";
import { organizations } from "../../drizzle/schema";
import type { Database } from "../db/database";
import { createApiKey, type OrganizationRow } from "../services/organizations";
import { PAGEVIEW_COLUMNS, SESSION_COLUMNS, generatePageviews, generateSessions } from "./activity";
import { APPOINTMENT_COLUMNS, CALL_COLUMNS, EXTERNAL_ID_COLUMNS, MILESTONE_COLUMNS, OBJECTION_COLUMNS, generateCalls } from "./calls";
import { INDUSTRIES } from "./catalog";
import { SLOT_MS, buildSlots, iso, type Slots } from "./clock";
import { BulkLoader } from "./loader";
import { buildOrganization, contactAt, type OrgModel } from "./organization";
import { SeedOptionsError, planOrganizations, seedOptionProblems, type OrgPlan, type SeedOptions, type SeedProgress } from "./plan";
import { existingOrganizations, insertSetup } from "./setup";
import { DAY_MS } from "../lib/time";

export type SeededOrganization = { id: string; name: string; timezone: string; calls: number };
export type SeedResult = {
  organizations: SeededOrganization[];
  /** rows written per table */
  rows: Record<string, number>;
  seconds: number;
  /** the end of the generated history */
  now: Date;
};

/** Months of partitions ensured ahead of `now` (future appointments are not partitioned; this matches migrate). */
const PARTITION_MONTHS_AHEAD = 3;
/** Contacts drawn between checks of the loader's backlog. */
const CONTACTS_PER_PAUSE = 5_000;

/**
 * Fills a migrated database with realistic, deterministic demo data: `orgs` organizations across time zones whose
 * calls sum to `calls` over the `days` before `now`, with agents, contacts, analysis, appointments, sessions and
 * pageviews. The same seed and `now` give the same rows, ids included. COPY on postgres.js; PGlite loads from
 * in-memory COPY blobs (keep it to tens of thousands of calls there).
 */
export async function seed(database: Database, options: SeedOptions): Promise<SeedResult> {
  const problems = seedOptionProblems(options);
  if (problems.length > 0) throw new SeedOptionsError(problems);
  return seedPlans(database, planOrganizations(options), { days: options.days, now: options.now ?? new Date(), onProgress: options.onProgress });
}

export const DEMO_ORGANIZATION = { name: "Demo Dental", timeZone: "America/New_York", calls: 25_000, agents: 12, days: 90 } as const;

/**
 * The embedded default's demo organization (first `npm start`): "Demo Dental" in New York, 12 agents and about
 * 25k calls over the 90 days up to `now`, so the dashboards look alive. Answers the organization and a write
 * and a read key (shown once).
 */
export async function seedDemo(
  database: Database,
  options: { now?: Date; onProgress?: (progress: SeedProgress) => void } = {},
): Promise<{ organization: OrganizationRow; writeKey: string; readKey: string; result: SeedResult }> {
  const plan: OrgPlan = {
    index: 0,
    key: "tally-demo",
    name: DEMO_ORGANIZATION.name,
    timeZone: DEMO_ORGANIZATION.timeZone,
    country: "US",
    industry: INDUSTRIES.find((i) => i.key === "dental")!,
    calls: DEMO_ORGANIZATION.calls,
    agents: DEMO_ORGANIZATION.agents,
    pageviews: DEMO_ORGANIZATION.calls / 2,
  };
  const result = await seedPlans(database, [plan], { days: DEMO_ORGANIZATION.days, now: options.now ?? new Date(), onProgress: options.onProgress });
  const orgId = result.organizations[0]!.id;
  const [organization] = await database.db.select().from(organizations).where(eq(organizations.id, orgId));
  const write = await createApiKey(database.db, { orgId, scope: "write", name: "demo write key" });
  const read = await createApiKey(database.db, { orgId, scope: "read", name: "demo read key" });
  return { organization: organization!, writeKey: write.apiKey, readKey: read.apiKey, result };
}

async function seedPlans(
  database: Database,
  plans: readonly OrgPlan[],
  options: { days: number; now: Date; onProgress?: ((progress: SeedProgress) => void) | undefined },
): Promise<SeedResult> {
  const startedAt = performance.now();
  const report = options.onProgress ?? (() => {});
  const now = options.now.getTime();
  // slot-aligned, so every slot has one UTC offset in every zone
  const windowStart = Math.floor((now - options.days * DAY_MS) / SLOT_MS) * SLOT_MS;
  const slotsByZone = new Map<string, Slots>();
  const slotsFor = (zone: string) => {
    let slots = slotsByZone.get(zone);
    if (!slots) slotsByZone.set(zone, (slots = buildSlots(zone, windowStart, now)));
    return slots;
  };
  report({ phase: "setup", done: 0, total: plans.length });
  const models = plans.map((plan) => buildOrganization(plan, slotsFor(plan.timeZone), now));
  const existing = await existingOrganizations(database.db, models);
  if (existing.length > 0) {
    throw new Error(`this database already holds ${existing.length} organization(s) of this seed (e.g. ${existing[0]}): use another seed or a fresh database`);
  }
  const monthsBack = Math.ceil(options.days / 30) + 1;
  await database.db.execute(sql`SELECT tally_ensure_partitions(${iso(now)}::timestamptz, ${monthsBack}::int, ${PARTITION_MONTHS_AHEAD}::int)`);
  const rows = await insertSetup(database.db, models);
  report({ phase: "setup", done: plans.length, total: plans.length });

  const loader = new BulkLoader(database);
  await loadContacts(loader, models, report);
  await loadActivity(loader, models, report);
  report({ phase: "analyze", done: 0, total: 1 });
  await analyze(database);
  report({ phase: "analyze", done: 1, total: 1 });
  return {
    organizations: models.map((m) => ({ id: m.id, name: m.plan.name, timezone: m.plan.timeZone, calls: m.plan.calls })),
    rows: { ...rows, ...loader.counts },
    seconds: (performance.now() - startedAt) / 1000,
    now: options.now,
  };
}

/**
 * Statistics target of the planner's sample on PGlite: the embedded database holds demo-sized tables and runs on the
 * request thread, and a tenth of the default sample cuts ANALYZE of the demo from ~0.9 s to ~0.25 s of CPU.
 */
const PGLITE_STATISTICS_TARGET = 10;
const ANALYZED_TABLES =
  "organizations, users, agents, contacts, calls, call_external_ids, call_milestones, call_objections, appointments, agent_sessions, widget_pageviews";

/** Fresh statistics, so the first dashboards after a seed are planned on the data they read. */
async function analyze(database: Database) {
  if (database.kind !== "pglite") {
    await database.db.execute(sql.raw(`ANALYZE ${ANALYZED_TABLES}`));
    return;
  }
  await database.db.transaction(async (tx) => {
    await tx.execute(sql.raw(`SET LOCAL default_statistics_target = ${PGLITE_STATISTICS_TARGET}`));
    await tx.execute(sql.raw(`ANALYZE ${ANALYZED_TABLES}`));
  });
}

/** Every contact first: the calls' foreign keys are checked against committed contacts. */
async function loadContacts(loader: BulkLoader, models: readonly OrgModel[], report: (p: SeedProgress) => void) {
  const add = loader.table("contacts", ["id", "org_id", "phone", "name", "created_at"], 20_000);
  const total = models.reduce((n, m) => n + m.contacts, 0);
  let done = 0;
  for (const org of models) {
    for (let i = 0; i < org.contacts; i++) {
      const c = contactAt(org, i);
      add([c.id, org.id, c.phone, c.name, iso(c.createdAt)]);
      if (++done % CONTACTS_PER_PAUSE === 0) {
        report({ phase: "contacts", done, total });
        await loader.ready();
      }
    }
  }
  await loader.finish();
  report({ phase: "contacts", done: total, total });
}

async function loadActivity(loader: BulkLoader, models: readonly OrgModel[], report: (p: SeedProgress) => void) {
  const sinks = {
    calls: loader.table("calls", CALL_COLUMNS),
    // the rest reference calls by (org_id, id, started_at): each batch waits until the calls it names are committed
    externalIds: loader.table("call_external_ids", EXTERNAL_ID_COLUMNS, 20_000, "calls"),
    milestones: loader.table("call_milestones", MILESTONE_COLUMNS, 40_000, "calls"),
    objections: loader.table("call_objections", OBJECTION_COLUMNS, 20_000, "calls"),
    appointments: loader.table("appointments", APPOINTMENT_COLUMNS, 5_000, "calls"),
  };
  const addSession = loader.table("agent_sessions", SESSION_COLUMNS, 5_000);
  const addPageview = loader.table("widget_pageviews", PAGEVIEW_COLUMNS, 20_000);
  const total = models.reduce((n, m) => n + m.plan.calls, 0);
  let done = 0;
  const pause = () => loader.ready();
  report({ phase: "calls", done, total });
  for (const org of models) {
    await generateCalls(org, sinks, pause, (n) => report({ phase: "calls", done: (done += n), total }));
    generateSessions(org, addSession);
    await generatePageviews(org, addPageview, pause);
  }
  await loader.finish();
}
