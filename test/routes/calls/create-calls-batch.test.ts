import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { ManualClock, body } from "../../support/app";
import { loadRawOrg, overviewOracle } from "../../support/oracle/dashboard";
import { nearlyEqual } from "../../support/oracle/agents";
import { useTestApp } from "../../support/use-test-app";

const clock = new ManualClock("2026-06-10T12:00:00Z");
const t = useTestApp({ clock });
const PATH = "/api/calls/batch";

const countCalls = async (orgId: string) => (await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}`))[0]!.n;
const callOf = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  phoneNumber: `+1415555${String(1000 + (i % 9000)).padStart(4, "0")}`,
  direction: i % 2 ? "inbound" : "outbound",
  status: "completed",
  startedAt: new Date(Date.parse("2026-06-09T08:00:00Z") + i * 60_000).toISOString(),
  durationSec: 30 + i,
  ...extra,
});

describe("POST /api/calls/batch", () => {
  it("applies good items and fails bad ones alone, each with the single route's status", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", PATH, {
      key: writeKey,
      body: {
        calls: [
          callOf(1, { externalId: "b-1", contactName: "Ada" }),
          callOf(2, { direction: "sideways" }),
          callOf(3, { agentId: "00000000-0000-4000-8000-000000000001" }),
          { externalId: "b-unknown", status: "completed" },
          callOf(5, { endedAt: "2026-06-01T00:00:00Z" }),
          callOf(6),
        ],
      },
    });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.map((r: { status: number }) => r.status)).toEqual([201, 400, 404, 400, 400, 201]);
    expect(json.data.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(json.data[1].errors.map((e: { path: string }) => e.path)).toEqual(["direction"]);
    expect(json.data[1].id).toBeUndefined();
    expect(json.meta).toEqual({ created: 2, updated: 0, failed: 4 });
    expect(await countCalls(orgId)).toBe(2);
    const first = await body(await t.request("GET", `/api/calls/${json.data[0].id}`, { key: writeKey }));
    expect(first.data).toMatchObject({ externalId: "b-1", contact: { name: "Ada" }, durationSec: 31 });
  });

  it("gives new calls and their contacts time-ordered (version-7) ids, so their index entries go to the last pages", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", PATH, { key: writeKey, body: { calls: [callOf(1), callOf(2)] } });
    expect(res.status).toBe(200);
    const single = await body(await t.request("POST", "/api/calls", { key: writeKey, body: callOf(3) }));
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = await rows<{ id: string; contact_id: string }>(t.database.db, sql`SELECT id::text, contact_id::text FROM calls WHERE org_id = ${orgId}`);
    expect(ids.map((r) => r.id).sort()).toEqual([...(await body(res)).data.map((r: { id: string }) => r.id), single.data.id].sort());
    for (const r of ids) {
      expect(r.id).toMatch(v7);
      expect(r.contact_id).toMatch(v7);
    }
  });

  it("applies two items with one externalId in order, and a known externalId as an update", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const single = await t.request("POST", "/api/calls", { key: writeKey, body: callOf(0, { externalId: "known", status: "in_progress" }) });
    expect(single.status).toBe(201);
    const res = await t.request("POST", PATH, {
      key: writeKey,
      body: {
        calls: [
          callOf(1, { externalId: "twice", status: "in_progress" }),
          { externalId: "twice", status: "completed", durationSec: 99 },
          { externalId: "known", status: "completed" },
          { externalId: "twice", leadScore: 80 },
        ],
      },
    });
    const json = await body(res);
    expect(
      json.data.map((r: { status: number }) => r.status),
      JSON.stringify(json),
    ).toEqual([201, 200, 200, 200]);
    expect(json.data[1].id).toBe(json.data[0].id);
    expect(json.meta).toEqual({ created: 1, updated: 3, failed: 0 });
    expect(await countCalls(orgId)).toBe(2);
    const twice = await body(await t.request("GET", `/api/calls/${json.data[0].id}`, { key: writeKey }));
    expect(twice.data).toMatchObject({ status: "completed", durationSec: 99, leadScore: 80 });
  });

  it("creates one call per externalId when concurrent batches overlap", async () => {
    const { writeKey, orgId } = await t.createOrg();
    // four batches of 40, each sharing 20 externalIds with the next: 100 distinct ids
    const batches = [0, 1, 2, 3].map((k) => Array.from({ length: 40 }, (_, i) => callOf(k * 20 + i, { externalId: `c-${k * 20 + i}` })));
    const answers = await Promise.all(batches.map((calls) => t.request("POST", PATH, { key: writeKey, body: { calls } }).then(body)));
    const byExternal = new Map<string, Set<string>>();
    let created = 0;
    answers.forEach((json, k) => {
      expect(json.meta.failed, JSON.stringify(json)).toBe(0);
      created += json.meta.created;
      json.data.forEach((r: { index: number; status: number; id: string }) => {
        expect([200, 201]).toContain(r.status);
        const ext = String(batches[k]![r.index]!.externalId);
        byExternal.set(ext, (byExternal.get(ext) ?? new Set()).add(r.id));
      });
    });
    expect(byExternal.size).toBe(100);
    for (const [ext, ids] of byExternal) expect(ids.size, ext).toBe(1);
    expect(created).toBe(100);
    expect(await countCalls(orgId)).toBe(100);
  });

  it("refuses a body of 1,001 items, none, or not objects whole, writing nothing", async () => {
    const { writeKey, orgId } = await t.createOrg();
    for (const calls of [Array.from({ length: 1001 }, (_, i) => callOf(i)), [], [callOf(1), 42], "calls"]) {
      const res = await t.request("POST", PATH, { key: writeKey, body: { calls } });
      expect(res.status, JSON.stringify(await body(res))).toBe(400);
    }
    expect(await countCalls(orgId)).toBe(0);
    const ok = await t.request("POST", PATH, { key: writeKey, body: { calls: Array.from({ length: 1000 }, (_, i) => callOf(i)) } });
    expect(ok.status).toBe(200);
    expect((await body(ok)).meta).toEqual({ created: 1000, updated: 0, failed: 0 });
    expect(await countCalls(orgId)).toBe(1000);
  });

  it("answers 413 for a body of 1 MiB + 1 byte, writing nothing", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const head = JSON.stringify({ calls: [callOf(1, { contactName: "" })] });
    const padded = head.replace('"contactName":""', `"contactName":"${"x".repeat(1024 * 1024 + 1 - head.length)}"`);
    expect(new TextEncoder().encode(padded).length).toBe(1024 * 1024 + 1);
    const res = await t.request("POST", PATH, { key: writeKey, rawBody: padded });
    expect(res.status).toBe(413);
    expect(await countCalls(orgId)).toBe(0);
  });

  it("takes NDJSON, one body a line, and refuses a line that is not a JSON object", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const headers = { "content-type": "application/x-ndjson" };
    const lines = [callOf(1, { externalId: "n-1" }), callOf(2), { externalId: "n-1", status: "failed" }].map((c) => JSON.stringify(c));
    const res = await t.request("POST", PATH, { key: writeKey, headers, rawBody: `${lines.join("\n")}\n` });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data.map((r: { status: number }) => r.status)).toEqual([201, 201, 200]);
    expect(await countCalls(orgId)).toBe(2);
    for (const rawBody of [`${lines[0]}\nnot json\n`, `${lines[0]}\n[1]\n`, "\n"]) {
      const bad = await t.request("POST", PATH, { key: writeKey, headers, rawBody });
      expect(bad.status, rawBody).toBe(400);
    }
    expect(await countCalls(orgId)).toBe(2);
  });

  it("is read exactly right after: the overview equals the raw oracle and the list holds every call", async () => {
    const { writeKey, readKey, orgId } = await t.createOrg();
    const warm = await t.request("GET", "/api/dashboard/overview?days=7", { key: readKey });
    expect(warm.status).toBe(200); // cached before the batch: the batch must invalidate it
    const calls = Array.from({ length: 150 }, (_, i) =>
      callOf(i, { status: i % 3 ? "completed" : "failed", leadScore: i % 4 ? 75 : null, outcome: i % 5 ? null : "appointment_booked" }),
    );
    const res = await t.request("POST", PATH, { key: writeKey, body: { calls } });
    const json = await body(res);
    expect(json.meta, JSON.stringify(json.data.filter((r: { status: number }) => r.status !== 201))).toEqual({ created: 150, updated: 0, failed: 0 });

    const overview = await body(await t.request("GET", "/api/dashboard/overview?days=7", { key: readKey }));
    const raw = await loadRawOrg(t.database.db, orgId);
    const expected = overviewOracle(raw, { from: new Date(overview.meta.from), to: new Date(overview.meta.to) }, clock.now());
    expect(overview.data.calls.total).toBe(150);
    expect(nearlyEqual(overview.data.calls, expected.calls)).toBeNull();
    expect(nearlyEqual(overview.data.leads, expected.leads)).toBeNull();

    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { data: { id: string }[]; meta: { nextCursor: string | null } } = await body(
        await t.request("GET", `/api/calls?limit=100${cursor ? `&cursor=${cursor}` : ""}`, { key: readKey }),
      );
      for (const c of page.data) ids.add(c.id);
      cursor = page.meta.nextCursor ?? null;
    } while (cursor);
    expect([...ids].sort()).toEqual(json.data.map((r: { id: string }) => r.id).sort());
  });
});
