import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { contacts } from "../../../drizzle/schema";
import { seed } from "../../../functions/seed";
import { createApiKey } from "../../../functions/services/organizations";
import { CALL_EXPORT_COLUMNS, EXPORT_PAGE_SIZE } from "../../../functions/routes/calls/export-calls";
import { body, ManualClock } from "../../support/app";
import { testDbKind } from "../../support/database";
import { insertAgents, insertCalls, type CallSeed } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";
import { testTarget } from "../../support/worker-target";

const NOW = new Date("2026-03-15T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW), rateLimit: false });
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

/** An RFC 4180 parser written for the test, apart from the code under test: quoted fields, doubled quotes, CRLF. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (field += ch), i++;
    } else if (ch === '"' && field === "") (quoted = true), i++;
    else if (ch === ",") record.push(field), (field = ""), i++;
    else if (ch === "\r" && text[i + 1] === "\n") record.push(field), records.push(record), (record = []), (field = ""), (i += 2);
    else if (ch === "\n" || ch === "\r") throw new Error(`a bare line break at ${i}: records end with CRLF`);
    else (field += ch), i++;
  }
  if (field !== "" || record.length > 0) throw new Error("the last record does not end with CRLF");
  return records;
}

/** Every item of GET /api/calls for `query`, over its cursor. */
async function listed(key: string, query: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await t.request("GET", `/api/calls?limit=100${query ? `&${query}` : ""}${cursor ? `&cursor=${cursor}` : ""}`, { key });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    items.push(...json.data);
    cursor = json.meta.nextCursor;
  } while (cursor);
  return items;
}

/** A list item as the export writes it: each column's value as text, null as empty. */
const asRow = (item: any): string[] =>
  CALL_EXPORT_COLUMNS.map((column) => {
    const value = column.split(".").reduce((v: any, k) => (v === null || v === undefined ? v : v[k]), item);
    return value === null || value === undefined ? "" : String(value);
  });

describe("GET /api/calls/export", () => {
  it("streams every matching call newest first as RFC 4180 CSV: the list's fields in their order, the list's values", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [ann, bob] = await insertAgents(t.database.db, orgId, [{ name: 'Ann "the closer", Sr.' }, { name: "Bob" }]);
    // more than one export page, with both directions and agents, and names that need quoting
    const seeds: CallSeed[] = Array.from({ length: EXPORT_PAGE_SIZE + 150 }, (_, i) => ({
      agentId: i % 3 === 0 ? null : i % 3 === 1 ? ann!.id : bob!.id,
      contactIndex: i % 5,
      direction: i % 2 === 0 ? "inbound" : "outbound",
      status: i % 4 === 0 ? "missed" : "completed",
      startedAt: minutesAgo(1 + Math.floor(i / 2)), // pairs share an instant: the id breaks the tie
      durationSec: i % 4 === 0 ? null : 30 + i,
      leadScore: i % 3 === 0 ? null : i % 100,
      outcome: i % 4 === 0 ? null : "qualified",
    }));
    await insertCalls(t.database.db, orgId, seeds);
    await t.database.db.update(contacts).set({ name: 'Zoë, line1\r\nline2 "q"' }).where(eq(contacts.phone, "+14155550001"));

    for (const query of [
      "",
      "direction=inbound",
      `agentId=${ann!.id}&status=completed`,
      `from=${minutesAgo(300).toISOString()}&to=${minutesAgo(100).toISOString()}`,
    ]) {
      const res = await t.request("GET", `/api/calls/export${query ? `?${query}` : ""}`, { key: readKey });
      const text = await res.text();
      expect(res.status, text.slice(0, 500)).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="calls-[0-9T-]+Z\.csv"$/);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("etag")).toBeNull();
      const [header, ...records] = parseCsv(text);
      expect(header).toEqual(CALL_EXPORT_COLUMNS);
      const expected = await listed(readKey, query);
      expect(expected.length, query).toBeGreaterThan(0);
      expect(records.length, query).toBe(expected.length);
      expect(records, query).toEqual(expected.map(asRow));
    }
    expect(CALL_EXPORT_COLUMNS.slice(0, 3)).toEqual(["id", "externalId", "agentId"]);
    expect(CALL_EXPORT_COLUMNS.slice(-5)).toEqual(["agent.id", "agent.name", "contact.id", "contact.name", "contact.phone"]);
  });

  it("answers only the key's organization, a header row when nothing matches, and refuses bad filters as the list does", async () => {
    const own = await t.createOrg();
    const other = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, other.orgId, [{ name: "Theirs" }]);
    await insertCalls(t.database.db, other.orgId, [{ agentId: agent!.id, startedAt: minutesAgo(5) }]);
    const empty = await t.request("GET", `/api/calls/export?agentId=${agent!.id}`, { key: own.readKey });
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe(`${CALL_EXPORT_COLUMNS.join(",")}\r\n`);

    for (const query of [
      "limit=5",
      "cursor=abc",
      "status=bogus",
      "agentId=nope",
      "from=2026-02-30T00:00:00Z",
      `from=${minutesAgo(1).toISOString()}&to=${minutesAgo(9).toISOString()}`,
    ]) {
      const res = await t.request("GET", `/api/calls/export?${query}`, { key: own.readKey });
      const json = await body(res);
      expect(res.status, `${query}: ${JSON.stringify(json)}`).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const list = await t.request("GET", `/api/calls?${query.replace(/^(limit|cursor)=.*/, "limit=0")}`, { key: own.readKey });
      expect(list.status, `the list refuses ${query} too`).toBe(400);
    }
    expect((await t.request("GET", "/api/calls/export", { key: null })).status).toBe(401);
  });
});

/** 100k calls: enough that a buffered export (rows, then one CSV string) would hold hundreds of MB. */
const LARGE_EXPORT_CALLS = 100_000;
/** The heap may grow this much above its level before the export; holding the export's rows or text would be far more. */
const FLAT_HEAP_BYTES = 24 * 1024 * 1024;

const memoryRun = testDbKind() === "postgres" && testTarget() === "node";
describe.skipIf(!memoryRun)(
  `the export's memory${memoryRun ? "" : " (on the postgres project only: 100k calls are seeded by COPY there, and the heap measured is this process's, not workerd's)"}`,
  () => {
    it("stays flat: the heap sampled while 100k calls stream stays within a fixed bound, as while a fifth of them do", async () => {
      const now = new Date();
      const seeded = await seed(t.database, { orgs: 1, calls: LARGE_EXPORT_CALLS, days: 90, seed: "export-memory", now, pageviewsPerCall: 0 });
      const orgId = seeded.organizations[0]!.id;
      const { apiKey } = await createApiKey(t.database.db, { orgId, scope: "read", name: "export" });
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as () => void;

      /** Streams an export chunk by chunk, keeping only counts; samples the heap (after a GC) every 20 chunks. */
      async function sampleExport(query: string) {
        gc();
        const before = process.memoryUsage().heapUsed;
        const res = await t.app.request(`/api/calls/export${query}`, { headers: { authorization: `Bearer ${apiKey}` } });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        let bytes = 0;
        let lines = 0;
        let chunks = 0;
        let peak = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          for (const b of value) if (b === 10) lines++;
          if (++chunks % 20 === 0) {
            gc();
            peak = Math.max(peak, process.memoryUsage().heapUsed - before);
          }
        }
        return { rows: lines - 1, bytes, chunks, peak };
      }

      const tenthFrom = new Date(now.getTime() - 9 * 24 * 3600_000).toISOString();
      const small = await sampleExport(`?from=${tenthFrom}`);
      const large = await sampleExport("");
      expect(large.rows).toBe(seeded.organizations[0]!.calls);
      expect(large.rows).toBeGreaterThan(5 * small.rows);
      expect(large.bytes).toBeGreaterThan(20 * 1024 * 1024);
      console.log(
        `export memory: ${small.rows} rows (${(small.bytes / 1e6).toFixed(1)} MB): heap peak +${(small.peak / 1e6).toFixed(1)} MB; ` +
          `${large.rows} rows (${(large.bytes / 1e6).toFixed(1)} MB): heap peak +${(large.peak / 1e6).toFixed(1)} MB`,
      );
      expect(large.peak, `the heap grew ${large.peak} bytes while ${large.bytes} bytes streamed`).toBeLessThan(FLAT_HEAP_BYTES);
      expect(large.peak).toBeLessThan(small.peak + FLAT_HEAP_BYTES / 2);
    }, 600_000);
  },
);
