import { createHash } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REDIS_URL } from "../cache/support";
import { createTestDatabase, type TestDatabase, testDbKind } from "../support/database";
import { killNodeEntries, type NodeEntry, startNodeEntry } from "../support/node-entry";

/**
 * `TALLY_READ_LEASE` (issue #15): the Node entry as `npm start` runs it, over Postgres and Redis, in its own process.
 * With the lease on (the default), repeated cached reads of one key are answered with no Redis command about that key
 * (watched with `MONITOR`: its grant and its counts are the commands that name the key's hash), and its counts reach
 * Redis in a few flushes; with `TALLY_READ_LEASE=off` every request asks Redis. On the Postgres project only: the
 * lease does not depend on the database, and the entry needs one it can share with this process.
 */
const ADMIN_KEY = "read-lease-test-admin-key-0123";
const READS = 30;

type Entry = NodeEntry & { lines: () => Record<string, unknown>[] };
let database: TestDatabase | undefined;

async function startEntry(env: Record<string, string>): Promise<Entry> {
  const entry = await startNodeEntry({
    env: {
      DATABASE_URL: database!.url!,
      REDIS_URL,
      TALLY_DEMO: "off",
      TALLY_SCHEDULER: "off",
      TALLY_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: "info",
      ...env,
    },
    unset: ["OTEL_EXPORTER_OTLP_ENDPOINT"],
  });
  const lines = () =>
    entry
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { ...entry, lines };
}

async function call(base: string, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
}

/** An organization with a call and a read key, made through the entry's API. */
async function readKeyOf(entry: Entry): Promise<string> {
  const created = await call(entry.base, "POST", "/api/admin/organizations", ADMIN_KEY, { name: "Leased", timezone: "UTC" });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const orgId: string = created.json.data.organization.id;
  const written = await call(entry.base, "POST", "/api/calls", created.json.data.apiKey, {
    phoneNumber: "+14155550100",
    direction: "inbound",
    status: "completed",
    durationSec: 60,
  });
  expect(written.status).toBe(201);
  const key = await call(entry.base, "POST", `/api/admin/organizations/${orgId}/keys`, ADMIN_KEY, { scope: "read", name: "lease" });
  expect(key.status).toBe(201);
  return key.json.data.apiKey as string;
}

/** The Redis commands clients sent that name a key's hash (its grant, its counts) while `run` runs, and a little after it. */
async function commandsAbout(keyHash: string, run: () => Promise<void>): Promise<string[]> {
  const monitor = createClient({ url: REDIS_URL });
  await monitor.connect();
  const seen: string[] = [];
  await monitor.monitor((line: string) => {
    // the commands a client sent (MONITOR also shows those a Lua script runs, as `[0 lua]`)
    if (line.includes(keyHash) && !line.includes(" lua]")) seen.push(line);
  });
  try {
    await run();
    await new Promise((r) => setTimeout(r, 300)); // the last flush (every 50 ms)
  } finally {
    await monitor.disconnect().catch(() => {});
  }
  return seen;
}

const onPostgres = testDbKind() === "postgres";

beforeAll(async () => {
  if (onPostgres) database = await createTestDatabase();
}, 120_000);
afterAll(async () => {
  killNodeEntries();
  await database?.drop();
});

describe.skipIf(!onPostgres)("the Node entry's cached-read lease (TALLY_READ_LEASE)", () => {
  it.each([
    ["on", undefined],
    ["off", "off"],
  ] as const)(
    "lease %s: what a run of cached reads asks Redis about the key",
    async (_name, setting) => {
      const entry = await startEntry(setting ? { TALLY_READ_LEASE: setting } : {});
      try {
        const key = await readKeyOf(entry);
        const hash = createHash("sha256").update(key).digest("hex");
        const url = "/api/dashboard/overview?days=7";
        for (let i = 0; i < 2; i++) expect((await call(entry.base, "GET", url, key)).status).toBe(200);
        const remaining: string[] = [];
        const started = performance.now();
        const seen = await commandsAbout(hash, async () => {
          for (let i = 0; i < READS; i++) {
            const res = await fetch(entry.base + url, { headers: { authorization: `Bearer ${key}` } });
            expect(res.status).toBe(200);
            remaining.push(res.headers.get("ratelimit-remaining")!);
            await res.arrayBuffer();
          }
        });
        const answered = entry.lines().filter((line) => line.msg === "request" && line.route === "/api/dashboard/overview");
        const leased = answered.filter((line) => line.lease === true).length;
        expect(remaining, "each request counted once: RateLimit-Remaining falls by one a request").toEqual(
          remaining.map((_, i) => String(Number(remaining[0]) - i)),
        );
        if (setting === "off") {
          expect(leased).toBe(0);
          expect(seen.length, "at least the count and the grant of every request").toBeGreaterThanOrEqual(2 * READS);
        } else {
          expect(leased, "answered with no round trip").toBeGreaterThan(0);
          // what the leases cost, by time, not by request: a flush of the counts every 50 ms at most, and a grant and a
          // count asked again each 250 ms at most (a slow machine makes the run longer, not the requests dearer)
          const elapsedMs = performance.now() - started;
          const bound = Math.ceil(elapsedMs / 50) + 2 * Math.ceil(elapsedMs / 250) + 2;
          expect(seen.length, `commands about the key in ${Math.round(elapsedMs)} ms: ${seen.join("\n")}`).toBeLessThanOrEqual(Math.min(bound, 2 * READS - 1));
          expect(
            seen.some((line) => line.includes("INCRBY") || line.includes("EVALSHA")),
            "the counts reached Redis",
          ).toBe(true);
        }
        // the store's count holds every request: a request after the run sees them all
        const after = await fetch(entry.base + url, { headers: { authorization: `Bearer ${key}` } });
        expect(Number(after.headers.get("ratelimit-remaining"))).toBe(Number(remaining.at(-1)) - 1);
      } finally {
        await entry.stop();
      }
    },
    180_000,
  );
});
