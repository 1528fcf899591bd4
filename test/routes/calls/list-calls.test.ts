import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { encodeCursor } from "../../../functions/read-models/calls-list";
import { refreshRollups } from "../../../functions/rollups/refresh";
import { body, ManualClock } from "../../support/app";
import { arbitraryCall, bindAgents, insertAgents, insertCalls, type CallSeed } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-15T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);
type Item = { id: string; startedAt: string; status: string; direction: string; agent: { id: string; name: string } | null; contact: { phone: string } };

/** Follows nextCursor from the first page to the last; answers every item and every page's meta. */
async function allPages(key: string, path: string, limit: number) {
  const items: Item[] = [];
  const metas: { total: number; nextCursor: string | null }[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const res = await t.request("GET", `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, { key });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    items.push(...json.data);
    metas.push(json.meta);
    cursor = json.meta.nextCursor;
    if (!cursor) break;
  }
  return { items, metas };
}

describe("GET /api/calls", () => {
  it("lists calls newest first with their agent and contact, and the exact total", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ann" }]);
    await insertCalls(t.database.db, orgId, [
      { agentId: agent!.id, startedAt: minutesAgo(30), reconnectToken: "secret-token-1" },
      { agentId: null, startedAt: minutesAgo(10), contactIndex: 1 },
      { agentId: agent!.id, startedAt: minutesAgo(20) },
    ]);
    const res = await t.request("GET", "/api/calls", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.map((c: Item) => c.startedAt)).toEqual([minutesAgo(10), minutesAgo(20), minutesAgo(30)].map((d) => d.toISOString()));
    expect(json.data[0].agent).toBeNull();
    expect(json.data[1].agent).toEqual({ id: agent!.id, name: "Ann" });
    expect(json.data[1].contact).toEqual({ id: expect.any(String), name: "Contact 0", phone: "+14155550000" });
    expect(JSON.stringify(json)).not.toContain("secret-token-1");
    expect(json.meta).toEqual({ nextCursor: null, total: 3, limit: 20, asOf: NOW.toISOString(), cache: "bypass" });
  });

  it("answers each call as GET /api/calls/{id} does, byte for byte: every field in its order, instants truncated to milliseconds", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ann" }]);
    const made = await insertCalls(t.database.db, orgId, [
      {
        agentId: agent!.id,
        startedAt: minutesAgo(30),
        endedAt: minutesAgo(25),
        durationSec: 300,
        creditsUsed: 7,
        outcome: "appointment_booked",
        leadScore: 91,
      },
      { agentId: null, startedAt: minutesAgo(20), contactIndex: 1, status: "in_progress", reconnectToken: "tok-1", reconnectEligible: true },
      { agentId: agent!.id, startedAt: minutesAgo(10), direction: "outbound", status: "failed", leadScore: 0, outcome: null },
    ]);
    // instants with microseconds below the millisecond (.999999 must not round up), the unnamed contact, a pool and a site
    await rows(
      t.database.db,
      sql`UPDATE calls SET started_at = started_at + interval '0.123999 seconds', ended_at = ended_at + interval '0.000999 seconds',
                           created_at = '2026-03-01T00:00:00.999999Z', updated_at = '2026-03-02T00:00:00.000001Z',
                           pool_id = gen_random_uuid(), site_id = gen_random_uuid(), country_code = 'US'
           WHERE org_id = ${orgId} AND id = ${made[0]!.id}`,
    );
    await rows(t.database.db, sql`UPDATE contacts SET name = NULL WHERE org_id = ${orgId} AND phone = '+14155550001'`);
    // a year past 9999, which JavaScript writes "+010000-…" (Postgres rounds 9999-12-31T23:59:59.9999995Z up to it)
    await rows(t.database.db, sql`UPDATE calls SET updated_at = '10000-01-01T00:00:00.0005Z' WHERE org_id = ${orgId} AND id = ${made[1]!.id}`);
    const res = await t.request("GET", "/api/calls", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.map((c: Item) => c.id)).toEqual([made[2]!.id, made[1]!.id, made[0]!.id]);
    expect(json.data[2].startedAt).toBe(new Date(minutesAgo(30).getTime() + 123).toISOString());
    expect(json.data[2].createdAt).toBe("2026-03-01T00:00:00.999Z");
    expect(json.data[1].updatedAt).toBe("+010000-01-01T00:00:00.000Z");
    for (const item of json.data) {
      const one = await t.request("GET", `/api/calls/${item.id}`, { key: readKey });
      const { milestones: _m, objections: _o, ...single } = (await body(one)).data;
      // the same keys in the same order with the same values: the list's JSON (and so its ETag) as the call's own
      expect(JSON.stringify(item)).toBe(JSON.stringify(single));
    }
  });

  it("pages through every call exactly once, ties on startedAt and microseconds included", async () => {
    const { orgId, readKey } = await t.createOrg();
    const seeds: CallSeed[] = Array.from({ length: 23 }, (_, i) => ({ startedAt: minutesAgo(Math.floor(i / 4)) }));
    await insertCalls(t.database.db, orgId, seeds);
    // two calls a microsecond apart: a millisecond cursor would lose one of them
    await rows(
      t.database.db,
      sql`UPDATE calls SET started_at = '2026-03-01T10:00:00.000001Z' WHERE id IN (SELECT id FROM calls WHERE org_id = ${orgId} ORDER BY id LIMIT 1)`,
    );
    await rows(
      t.database.db,
      sql`UPDATE calls SET started_at = '2026-03-01T10:00:00.000002Z' WHERE id IN (SELECT id FROM calls WHERE org_id = ${orgId} ORDER BY id DESC LIMIT 1)`,
    );
    for (const limit of [1, 3, 5, 23, 100]) {
      const { items, metas } = await allPages(readKey, "/api/calls", limit);
      expect(items).toHaveLength(23);
      expect(new Set(items.map((c) => c.id)).size).toBe(23);
      expect(metas.every((m) => m.total === 23)).toBe(true);
      expect(metas).toHaveLength(Math.ceil(23 / limit));
      const keys = items.map((c) => [Date.parse(c.startedAt), c.id] as const);
      for (let i = 1; i < keys.length; i++) {
        const [a, b] = [keys[i - 1]!, keys[i]!];
        expect(a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]), `order at ${i}`).toBe(true);
      }
    }
  });

  it("filters by direction, status, agent and window; total counts the filtered calls", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [ann, bob] = await insertAgents(t.database.db, orgId, [{ name: "Ann" }, { name: "Bob" }]);
    await insertCalls(t.database.db, orgId, [
      { agentId: ann!.id, direction: "inbound", status: "completed", startedAt: minutesAgo(1) },
      { agentId: ann!.id, direction: "outbound", status: "completed", startedAt: minutesAgo(2) },
      { agentId: bob!.id, direction: "inbound", status: "missed", startedAt: minutesAgo(3) },
      { agentId: bob!.id, direction: "inbound", status: "completed", startedAt: minutesAgo(60 * 24 * 3) },
    ]);
    const get = async (query: string) => {
      const json = await body(await t.request("GET", `/api/calls?${query}`, { key: readKey }));
      return { ids: json.data.length, total: json.meta.total, items: json.data as Item[] };
    };
    expect(await get("direction=inbound")).toMatchObject({ ids: 3, total: 3 });
    expect(await get("status=completed&direction=inbound")).toMatchObject({ ids: 2, total: 2 });
    expect(await get(`agentId=${bob!.id}`)).toMatchObject({ ids: 2, total: 2 });
    expect(await get(`from=${minutesAgo(3).toISOString()}&to=${minutesAgo(1).toISOString()}`)).toMatchObject({ ids: 2, total: 2 });
    expect((await get("limit=1&direction=inbound")).total).toBe(3);
  });

  it("matches nothing for an agent of another organization, and never shows another organization's calls", async () => {
    const a = await t.createOrg();
    const b = await t.createOrg();
    const [theirs] = await insertAgents(t.database.db, a.orgId, [{ name: "Theirs" }]);
    await insertCalls(t.database.db, a.orgId, [{ agentId: theirs!.id, startedAt: minutesAgo(1) }]);
    const foreign = await body(await t.request("GET", `/api/calls?agentId=${theirs!.id}`, { key: b.readKey }));
    expect(foreign.data).toEqual([]);
    expect(foreign.meta.total).toBe(0);
    expect((await body(await t.request("GET", "/api/calls", { key: b.readKey }))).meta.total).toBe(0);
    // a cursor names a position, not a row: pointing it at another organization's call reveals nothing
    const mine = await body(await t.request("GET", "/api/calls", { key: a.readKey }));
    const cursor = encodeCursor({ startedAt: "2099-01-01T00:00:00.000000Z", id: mine.data[0].id });
    expect((await body(await t.request("GET", `/api/calls?cursor=${cursor}`, { key: b.readKey }))).data).toEqual([]);
  });

  it("counts meta.total exactly for any filters, raw, from refreshed rollups and after back-dated changes", async () => {
    const db = t.database.db;
    const { orgId, readKey } = await t.createOrg();
    const [ann, bob] = await insertAgents(db, orgId, [{ name: "Ann" }, { name: "Bob" }]);
    await insertCalls(db, orgId, bindAgents(fc.sample(arbitraryCall(NOW, 3, 2), { numRuns: 80, seed: 11 }), [ann!.id, bob!.id]));
    // windows on and off the 15-minute grid, open on either side, and none
    const windows: { from?: string; to?: string }[] = [
      {},
      { from: minutesAgo(30 * 60 + 7).toISOString(), to: minutesAgo(13).toISOString() },
      { from: "2026-03-13T00:00:00Z", to: "2026-03-15T00:00:00Z" },
      { from: minutesAgo(2 * 24 * 60 + 1).toISOString() },
      { to: new Date(NOW.getTime() - 86_400_000 - 500).toISOString() },
    ];
    // rollup-counted filters, and ones counted raw (an agent)
    const filters: Record<string, string>[] = [
      {},
      { direction: "inbound" },
      { status: "completed" },
      { direction: "outbound", status: "missed" },
      { agentId: bob!.id },
      { agentId: ann!.id, status: "completed" },
    ];
    const expectTotals = async (label: string) => {
      for (const w of windows)
        for (const f of filters) {
          const params = new URLSearchParams({ limit: "1", ...w, ...f });
          const json = await body(await t.request("GET", `/api/calls?${params}`, { key: readKey }));
          const [expected] = await rows<{ n: number }>(
            db,
            sql`SELECT count(*)::int AS n FROM calls
                 WHERE org_id = ${orgId}::uuid
                   AND (${w.from ?? null}::timestamptz IS NULL OR started_at >= ${w.from ?? null}::timestamptz)
                   AND (${w.to ?? null}::timestamptz IS NULL OR started_at < ${w.to ?? null}::timestamptz)
                   AND (${f.direction ?? null}::text IS NULL OR direction::text = ${f.direction ?? null}::text)
                   AND (${f.status ?? null}::text IS NULL OR status::text = ${f.status ?? null}::text)
                   AND (${f.agentId ?? null}::uuid IS NULL OR agent_id = ${f.agentId ?? null}::uuid)`,
          );
          expect(json.meta?.total, `${label}: ?${params}: ${JSON.stringify(json).slice(0, 300)}`).toBe(expected!.n);
        }
    };
    await expectTotals("raw");
    await refreshRollups(db, NOW);
    await expectTotals("from refreshed rollups");
    // back-dated changes mark their buckets dirty: those buckets are read raw until the next refresh
    const some = (offset: number, limit: number) => sql`SELECT id FROM calls WHERE org_id = ${orgId}::uuid ORDER BY id OFFSET ${offset} LIMIT ${limit}`;
    await db.execute(sql`UPDATE calls SET status = 'missed', direction = 'outbound' WHERE id IN (${some(0, 5)})`);
    await db.execute(sql`UPDATE calls SET started_at = started_at - interval '1 day 7 minutes' WHERE id IN (${some(5, 3)})`);
    await db.execute(sql`DELETE FROM calls WHERE id IN (${some(8, 2)})`);
    await expectTotals("after back-dated changes");
    await refreshRollups(db, NOW);
    await expectTotals("after the next refresh");
  });

  const tampered = (() => {
    const valid = encodeCursor({ startedAt: "2026-03-01T10:00:00.000000Z", id: "4f8e7a52-1f0c-4a0e-9d51-1c2b3a4d5e6f" });
    return valid.slice(0, 5) + (valid[5] === "A" ? "B" : "A") + valid.slice(6);
  })();
  const b64 = (text: string) => Buffer.from(text).toString("base64url");

  it.each([
    ["limit=0", ["query.limit"]],
    ["limit=101", ["query.limit"]],
    ["limit=abc", ["query.limit"]],
    ["limit=2.5", ["query.limit"]],
    ["status=done", ["query.status"]],
    ["direction=sideways", ["query.direction"]],
    ["agentId=42", ["query.agentId"]],
    ["from=2026-02-30T00:00:00Z", ["query.from"]],
    ["to=2026-03-01", ["query.to"]],
    ["from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", ["query.from"]],
    ["cursor=not-a-cursor!", ["query.cursor"]],
    [`cursor=${tampered}`, ["query.cursor"]],
    [`cursor=${b64('["2026-03-01T10:00:00Z","4f8e7a52-1f0c-4a0e-9d51-1c2b3a4d5e6f"]')}`, ["query.cursor"]],
    [`cursor=${b64('["2026-02-30T10:00:00.000000Z","4f8e7a52-1f0c-4a0e-9d51-1c2b3a4d5e6f"]')}`, ["query.cursor"]],
    [`cursor=${b64('{"a":1}')}`, ["query.cursor"]],
    ["status=done&limit=0&agentId=x", ["query.agentId", "query.limit", "query.status"]],
    ["sort=asc", ["query"]],
  ])("answers 400 problem+json for %s", async (query, paths) => {
    const { readKey } = await t.createOrg();
    const res = await t.request("GET", `/api/calls?${query}`, { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path).sort(), JSON.stringify(json)).toEqual(paths);
  });
});
