import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows, type Database } from "../../functions/db/database";
import { SeedOptionsError, seed, type SeedOptions, type SeedResult } from "../../functions/seed";
import { createTestDatabase, type TestDatabase } from "../support/database";

const NOW = new Date("2026-03-10T15:00:00.000Z"); // two days after New York's spring-forward
const OPTIONS: SeedOptions = { orgs: 4, calls: 3_000, days: 30, seed: 42, now: NOW, pageviewsPerCall: 0.5 };

const TABLES = [
  "organizations",
  "users",
  "agents",
  "services",
  "inbound_config",
  "invites",
  "contacts",
  "calls",
  "call_external_ids",
  "call_milestones",
  "call_objections",
  "appointments",
  "agent_sessions",
  "widget_pageviews",
] as const;

/** One hash per table over every row's text, ordered: equal hashes mean equal row sets, ids included. */
async function fingerprints(database: Database, orgIds?: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const orgColumn = table === "organizations" ? "id" : "org_id";
    const where = orgIds
      ? sql` WHERE t.${sql.identifier(orgColumn)} IN (${sql.join(
          orgIds.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})`
      : sql``;
    const [row] = await rows<{ hash: string | null; n: number }>(
      database.db,
      sql`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS hash, count(*)::int AS n FROM ${sql.identifier(table)} t${where}`,
    );
    out[table] = `${row!.n}:${row!.hash}`;
  }
  return out;
}

async function count(database: Database, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await rows<{ n: number }>(database.db, query);
  return row!.n;
}

let first: TestDatabase;
let second: TestDatabase;
let result: SeedResult;

beforeAll(async () => {
  [first, second] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  result = await seed(first, OPTIONS);
});

afterAll(async () => {
  await Promise.all([first?.drop(), second?.drop()]);
});

describe("seed", () => {
  it("writes the same rows, ids included, for the same seed and now, and other rows for another seed", async () => {
    const again = await seed(second, OPTIONS);
    expect(again.organizations).toEqual(result.organizations);
    const a = await fingerprints(first);
    expect(await fingerprints(second)).toEqual(a);

    const other = await seed(second, { ...OPTIONS, seed: 43 });
    const otherIds = other.organizations.map((o) => o.id);
    expect(otherIds.some((id) => result.organizations.some((o) => o.id === id))).toBe(false);
    const b = await fingerprints(second, otherIds);
    expect(b.calls).not.toBe(a.calls);
    expect(b.calls!.split(":")[0]).toBe("3000");
  });

  it("reports the rows it wrote, and the calls of the organizations sum to the total", async () => {
    expect(result.organizations.reduce((n, o) => n + o.calls, 0)).toBe(3_000);
    for (const table of TABLES) {
      expect(await count(first, sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)}`), table).toBe(result.rows[table]);
    }
    const perOrg = await rows<{ id: string; n: number }>(first.db, sql`SELECT org_id AS id, count(*)::int AS n FROM calls GROUP BY 1`);
    for (const org of result.organizations) expect(perOrg.find((r) => r.id === org.id)?.n ?? 0, org.name).toBe(org.calls);
  });

  it("spreads organizations over New York, Kolkata, Kathmandu and UTC", async () => {
    const zones = await rows<{ timezone: string }>(first.db, sql`SELECT timezone FROM organizations ORDER BY timezone`);
    expect(zones.map((z) => z.timezone)).toEqual(["America/New_York", "Asia/Kathmandu", "Asia/Kolkata", "UTC"]);
  });

  it("keeps every reference inside its organization", async () => {
    const broken = await rows<Record<string, number>>(
      first.db,
      sql`
      SELECT
        (SELECT count(*)::int FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id AND k.org_id = c.org_id WHERE k.id IS NULL) AS call_contacts,
        (SELECT count(*)::int FROM calls c JOIN contacts k ON k.id = c.contact_id WHERE k.phone <> c.phone_number) AS call_phones,
        (SELECT count(*)::int FROM calls c LEFT JOIN agents a ON a.id = c.agent_id AND a.org_id = c.org_id WHERE c.agent_id IS NOT NULL AND a.id IS NULL) AS call_agents,
        (SELECT count(*)::int FROM call_milestones m LEFT JOIN calls c ON c.id = m.call_id AND c.org_id = m.org_id WHERE c.id IS NULL) AS milestones,
        (SELECT count(*)::int FROM call_objections o LEFT JOIN calls c ON c.id = o.call_id AND c.org_id = o.org_id WHERE c.id IS NULL) AS objections,
        (SELECT count(*)::int FROM call_external_ids e LEFT JOIN calls c ON c.id = e.call_id AND c.org_id = e.org_id AND c.external_id = e.external_id AND c.started_at = e.started_at WHERE c.id IS NULL) AS external_ids,
        (SELECT count(*)::int FROM calls WHERE external_id IS NOT NULL) - (SELECT count(*)::int FROM call_external_ids) AS external_id_gap,
        (SELECT count(*)::int FROM appointments p LEFT JOIN contacts k ON k.id = p.contact_id AND k.org_id = p.org_id WHERE k.id IS NULL) AS appointment_contacts,
        (SELECT count(*)::int FROM appointments p LEFT JOIN calls c ON c.id = p.call_id AND c.org_id = p.org_id WHERE c.id IS NULL) AS appointment_calls,
        (SELECT count(*)::int FROM appointments p LEFT JOIN services s ON s.id = p.service_id AND s.org_id = p.org_id WHERE p.service_id IS NOT NULL AND s.id IS NULL) AS appointment_services,
        (SELECT count(*)::int FROM agent_sessions s LEFT JOIN agents a ON a.id = s.agent_id AND a.org_id = s.org_id WHERE a.id IS NULL) AS sessions,
        (SELECT count(*)::int FROM agents a LEFT JOIN users u ON u.id = a.user_id AND u.org_id = a.org_id WHERE a.user_id IS NOT NULL AND u.id IS NULL) AS agent_users,
        (SELECT count(*)::int FROM agents WHERE (kind = 'human') <> (user_id IS NOT NULL)) AS human_users,
        (SELECT count(*)::int FROM inbound_config i LEFT JOIN agents a ON a.id = i.default_agent_id AND a.org_id = i.org_id WHERE a.id IS NULL) AS inbound_default,
        (SELECT count(*)::int FROM contacts WHERE phone !~ '^\\+[1-9][0-9]{7,14}$') AS non_e164,
        (SELECT count(*)::int FROM calls_default) + (SELECT count(*)::int FROM widget_pageviews_default) AS default_partition_rows
    `,
    );
    expect(broken[0]).toEqual(Object.fromEntries(Object.keys(broken[0]!).map((k) => [k, 0])));
  });

  it("ends the history at now and keeps every time consistent with it", async () => {
    const [t] = await rows<Record<string, number>>(
      first.db,
      sql`
      SELECT
        (SELECT count(*)::int FROM calls WHERE started_at >= ${NOW.toISOString()}::timestamptz OR started_at < ${NOW.toISOString()}::timestamptz - interval '30 days 15 minutes') AS outside_window,
        (SELECT count(*)::int FROM calls WHERE started_at > ${NOW.toISOString()}::timestamptz - interval '1 hour') AS last_hour,
        (SELECT count(*)::int FROM calls WHERE ended_at < started_at OR created_at < started_at OR updated_at < created_at OR updated_at > ${NOW.toISOString()}::timestamptz) AS inconsistent,
        (SELECT count(*)::int FROM calls WHERE (status IN ('queued', 'ringing', 'in_progress')) <> (ended_at IS NULL)) AS live_mismatch,
        (SELECT count(*)::int FROM calls WHERE status = 'completed' AND (ended_at - started_at) <> make_interval(secs => duration_sec)) AS bad_duration,
        (SELECT count(*)::int FROM calls WHERE status IN ('failed', 'missed') AND credits_used <> 0) AS free_failures,
        (SELECT count(*)::int FROM calls WHERE status = 'completed' AND credits_used < ceil(duration_sec / 60.0)) AS undercharged
    `,
    );
    expect(t).toMatchObject({ outside_window: 0, inconsistent: 0, live_mismatch: 0, bad_duration: 0, free_failures: 0, undercharged: 0 });
    expect(t!.last_hour).toBeGreaterThan(0);
  });

  it("mixes statuses, outcomes and live calls like a real call center", async () => {
    const statuses = Object.fromEntries(
      (await rows<{ status: string; n: number }>(first.db, sql`SELECT status::text, count(*)::int AS n FROM calls GROUP BY 1`)).map((r) => [r.status, r.n]),
    );
    expect(statuses.completed).toBeGreaterThan(3_000 * 0.55);
    for (const s of ["failed", "missed", "abandoned", "in_progress"]) expect(statuses[s], s).toBeGreaterThan(0);
    expect((statuses.queued ?? 0) + (statuses.ringing ?? 0)).toBeGreaterThan(0);
    expect(
      await count(first, sql`SELECT count(*)::int AS n FROM calls WHERE status = 'in_progress' AND reconnect_eligible AND reconnect_token IS NOT NULL`),
    ).toBeGreaterThan(0);
    const outcomes = await rows<{ outcome: string }>(first.db, sql`SELECT DISTINCT outcome::text FROM calls WHERE outcome IS NOT NULL`);
    expect(outcomes.length).toBe(6);
    const [analysis] = await rows<{ scored: number; completed: number; late: number; booked_future: number; open_sessions: number; expired_invites: number }>(
      first.db,
      sql`
      SELECT
        (SELECT count(*)::int FROM calls WHERE status = 'completed' AND lead_score IS NOT NULL) AS scored,
        (SELECT count(*)::int FROM calls WHERE status = 'completed') AS completed,
        (SELECT count(*)::int FROM calls WHERE lead_score IS NOT NULL AND updated_at > ended_at + interval '5 minutes') AS late,
        (SELECT count(*)::int FROM appointments WHERE status = 'scheduled' AND scheduled_at > ${NOW.toISOString()}::timestamptz) AS booked_future,
        (SELECT count(*)::int FROM agent_sessions WHERE ended_at IS NULL) AS open_sessions,
        (SELECT count(*)::int FROM invites WHERE accepted_at IS NULL AND expires_at < ${NOW.toISOString()}::timestamptz) AS expired_invites
    `,
    );
    expect(analysis!.scored / analysis!.completed).toBeGreaterThan(0.6);
    expect(analysis!.late).toBeGreaterThan(0);
    expect(analysis!.booked_future).toBeGreaterThan(0);
    expect(analysis!.open_sessions).toBeGreaterThan(0);
    expect(analysis!.expired_invites).toBe(4);
  });

  it("gives every organization AI and human agents in every status", async () => {
    const perOrg = await rows<{ kinds: number; statuses: number }>(
      first.db,
      sql`
      SELECT count(DISTINCT kind)::int AS kinds, count(DISTINCT status)::int AS statuses FROM agents GROUP BY org_id`,
    );
    expect(perOrg).toHaveLength(4);
    for (const org of perOrg) expect(org).toEqual({ kinds: 2, statuses: 4 });
    expect(await count(first, sql`SELECT count(*)::int AS n FROM calls c JOIN agents a ON a.id = c.agent_id WHERE a.status = 'draft'`)).toBe(0);
  });

  it("puts more calls in local business hours than at 3 am local, and more a weekday than a Sunday", async () => {
    const shape = await rows<{ name: string; business: number; night: number; weekday: number; sunday: number }>(
      first.db,
      sql`
      SELECT o.name,
        count(*) FILTER (WHERE extract(hour FROM c.started_at AT TIME ZONE o.timezone) = 10)::int AS business,
        count(*) FILTER (WHERE extract(hour FROM c.started_at AT TIME ZONE o.timezone) = 3)::int AS night,
        count(*) FILTER (WHERE extract(isodow FROM c.started_at AT TIME ZONE o.timezone) BETWEEN 1 AND 5)::float8
          / count(DISTINCT (c.started_at AT TIME ZONE o.timezone)::date) FILTER (WHERE extract(isodow FROM c.started_at AT TIME ZONE o.timezone) BETWEEN 1 AND 5) AS weekday,
        count(*) FILTER (WHERE extract(isodow FROM c.started_at AT TIME ZONE o.timezone) = 7)::float8
          / count(DISTINCT (c.started_at AT TIME ZONE o.timezone)::date) FILTER (WHERE extract(isodow FROM c.started_at AT TIME ZONE o.timezone) = 7) AS sunday
      FROM calls c JOIN organizations o ON o.id = c.org_id GROUP BY o.name HAVING count(*) >= 300`,
    );
    expect(shape.length).toBeGreaterThan(0);
    for (const org of shape) {
      expect(org.business, org.name).toBeGreaterThan(5 * org.night);
      expect(org.weekday, org.name).toBeGreaterThan(1.5 * org.sunday); // calls per local day
    }
  });

  it("correlates agents' lead scores with their completion rates (both follow skill)", async () => {
    const agents = await rows<{ completion: number; score: number }>(
      first.db,
      sql`
      SELECT avg((status = 'completed')::int)::float8 AS completion, avg(lead_score)::float8 AS score
      FROM calls WHERE agent_id IS NOT NULL GROUP BY agent_id HAVING count(lead_score) >= 30`,
    );
    expect(agents.length).toBeGreaterThan(4);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cx = mean(agents.map((a) => a.completion));
    const cy = mean(agents.map((a) => a.score));
    const cov = mean(agents.map((a) => (a.completion - cx) * (a.score - cy)));
    const sd = (xs: number[], m: number) => Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    expect(
      cov /
        (sd(
          agents.map((a) => a.completion),
          cx,
        ) *
          sd(
            agents.map((a) => a.score),
            cy,
          )),
    ).toBeGreaterThan(0.3);
  });

  it("refuses invalid options and a seed already present, writing nothing", async () => {
    const before = await count(first, sql`SELECT count(*)::int AS n FROM organizations`);
    await expect(seed(first, { ...OPTIONS, orgs: 0, days: 1000 })).rejects.toBeInstanceOf(SeedOptionsError);
    await expect(seed(first, OPTIONS)).rejects.toThrow(/already holds 4 organization/);
    expect(await count(first, sql`SELECT count(*)::int AS n FROM organizations`)).toBe(before);
  });
});
