import { and, eq, isNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "../../drizzle/schema";
import { rows } from "../../functions/db/database";
import { sha256Hex } from "../../functions/lib/api-keys";
import { DEMO_ORGANIZATION, seedDemo } from "../../functions/seed/seed";
import { createTestDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;
let demo: Awaited<ReturnType<typeof seedDemo>>;
const now = new Date("2026-06-15T14:30:00.000Z");

beforeAll(async () => {
  database = await createTestDatabase();
  const started = performance.now();
  demo = await seedDemo(database, { now });
  // the embedded default seeds this on first start: keep an eye on how long that takes
  console.info(`seedDemo on ${database.kind}: ${((performance.now() - started) / 1000).toFixed(1)} s`, demo.result.rows);
});

afterAll(async () => {
  await database?.drop();
});

describe("seedDemo", () => {
  it("creates Demo Dental in New York with a dozen agents and about 25k calls over 90 days", async () => {
    expect(demo.organization).toMatchObject({ name: "Demo Dental", timezone: "America/New_York" });
    const [shape] = await rows<{
      agents: number;
      calls: number;
      first: string;
      last: string;
      services: number;
      future: number;
      sessions: number;
      pageviews: number;
      inbound: number;
    }>(
      database.db,
      sql`SELECT
        (SELECT count(*)::int FROM agents WHERE org_id = ${demo.organization.id}) AS agents,
        (SELECT count(*)::int FROM calls WHERE org_id = ${demo.organization.id}) AS calls,
        (SELECT min(started_at)::text FROM calls) AS first,
        (SELECT max(started_at)::text FROM calls) AS last,
        (SELECT count(*)::int FROM services) AS services,
        (SELECT count(*)::int FROM appointments WHERE status = 'scheduled' AND scheduled_at >= ${now.toISOString()}::timestamptz) AS future,
        (SELECT count(*)::int FROM agent_sessions) AS sessions,
        (SELECT count(*)::int FROM widget_pageviews) AS pageviews,
        (SELECT count(*)::int FROM inbound_config WHERE org_id = ${demo.organization.id}) AS inbound`,
    );
    expect(shape).toMatchObject({ agents: DEMO_ORGANIZATION.agents, calls: DEMO_ORGANIZATION.calls, inbound: 1 });
    expect(shape!.services).toBeGreaterThan(3);
    expect(shape!.future).toBeGreaterThan(0);
    expect(shape!.sessions).toBeGreaterThan(0);
    expect(shape!.pageviews).toBeGreaterThan(0);
    expect(now.getTime() - Date.parse(shape!.last)).toBeLessThan(60 * 60_000);
    expect(now.getTime() - Date.parse(shape!.first)).toBeGreaterThan(89 * 86_400_000);
  });

  it("answers a write key and a read key whose hashes are stored for the organization", async () => {
    for (const [key, scope] of [
      [demo.writeKey, "write"],
      [demo.readKey, "read"],
    ] as const) {
      const stored = await database.db
        .select({ scope: apiKeys.scope, orgId: apiKeys.orgId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, await sha256Hex(key)), isNull(apiKeys.revokedAt)));
      expect(stored, scope).toEqual([{ scope, orgId: demo.organization.id }]);
    }
  });
});
