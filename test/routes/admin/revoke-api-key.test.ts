import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCache } from "../../../functions/cache";
import { redisStore } from "../../../functions/cache/redis";
import { firstRow, rows } from "../../../functions/db/database";
import { generateApiKey, sha256Hex } from "../../../functions/lib/api-keys";
import type { Clock } from "../../../functions/lib/clock";
import { silentLogger } from "../../../functions/lib/logger";
import { API_KEY_SHAPE } from "../../../functions/middleware/auth";
import { deleteByPrefix, REDIS_URL, runPrefix } from "../../cache/support";
import { testTarget } from "../../support/worker-target";
import { body, createTestApp, type TestApp } from "../../support/app";
import { testDbKind } from "../../support/database";
import { databaseUrl } from "../../support/templates";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

/** A new key of the organization, with its id (the admin route answers both). */
async function newKey(app: TestApp, orgId: string, scope: "read" | "write" = "read") {
  const res = await app.request("POST", `/api/admin/organizations/${orgId}/keys`, { body: { scope, name: `${scope} key` } });
  const json = await body(res);
  expect(res.status, JSON.stringify(json)).toBe(201);
  return { keyId: json.data.id as string, apiKey: json.data.apiKey as string };
}

/** The statements the last request sent (its request log line), auth included. */
const lastStatements = (app: TestApp) => app.logs.filter((l) => l.msg === "request" || l.msg === "slow request").at(-1)!.statements as number;

const status = async (app: TestApp, path: string, key: string) => (await app.request("GET", path, { key })).status;

/** The zone a request acts in, as its organization context (from the key's grant) says: the windowed aggregates echo it. */
const zoneSeen = async (app: TestApp, key: string) => {
  const json = await body(await app.request("GET", "/api/dashboard/analytics?days=1", { key }));
  return json.meta.timezone as string;
};

describe("DELETE /api/admin/organizations/{id}/keys/{keyId}", () => {
  it("answers the revoked key, and the very next request with it answers 401 while the organization's other keys work", async () => {
    const { orgId, readKey } = await t.createOrg();
    const { keyId, apiKey } = await newKey(t, orgId);
    expect(await status(t, "/api/settings", apiKey)).toBe(200);
    expect(await status(t, "/api/settings", apiKey)).toBe(200); // served from the key's cached grant

    const res = await t.request("DELETE", `/api/admin/organizations/${orgId}/keys/${keyId}`);
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ id: keyId, orgId, scope: "read", prefix: apiKey.slice(0, 10) });
    expect(Number.isNaN(Date.parse(json.data.revokedAt))).toBe(false);
    expect(JSON.stringify(json)).not.toContain(apiKey);

    const refused = await t.request("GET", "/api/settings", { key: apiKey });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(await status(t, "/api/settings", readKey)).toBe(200);

    // idempotent: revoking again answers the first revocation time
    const again = await body(await t.request("DELETE", `/api/admin/organizations/${orgId}/keys/${keyId}`));
    expect(again.data.revokedAt).toBe(json.data.revokedAt);
    const stored = await firstRow<{ revoked_at: Date | string | null }>(t.database.db, sql`SELECT revoked_at FROM api_keys WHERE id = ${keyId}`);
    expect(new Date(stored!.revoked_at!).toISOString()).toBe(json.data.revokedAt);
  });

  it("answers 404 for an unknown key or another organization's key, 400 for malformed ids, 403 for an organization key", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    const bKey = await newKey(t, b.orgId);
    expect((await t.request("DELETE", `/api/admin/organizations/${a.orgId}/keys/${bKey.keyId}`)).status).toBe(404);
    expect((await t.request("DELETE", `/api/admin/organizations/${a.orgId}/keys/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect(await status(t, "/api/settings", bKey.apiKey)).toBe(200);

    const bad = await t.request("DELETE", `/api/admin/organizations/not-a-uuid/keys/also-not`);
    const badJson = await body(bad);
    expect(bad.status, JSON.stringify(badJson)).toBe(400);
    expect(badJson.errors.map((e: { path: string }) => e.path).sort()).toEqual(
      expect.arrayContaining([expect.stringContaining("id"), expect.stringContaining("keyId")]),
    );

    expect((await t.request("DELETE", `/api/admin/organizations/${b.orgId}/keys/${bKey.keyId}`, { key: b.writeKey })).status).toBe(403);
    expect((await t.request("DELETE", `/api/admin/organizations/${b.orgId}/keys/${bKey.keyId}`, { key: null })).status).toBe(401);
    expect(await status(t, "/api/settings", bKey.apiKey)).toBe(200);
  });
});

describe("the API-key grant cache", () => {
  it("costs no statement for auth once a key was seen; an unknown key is looked up once, a malformed one never", async () => {
    const { readKey } = await t.createOrg();
    await t.request("GET", "/api/settings", { key: readKey });
    await t.request("GET", "/api/settings", { key: readKey });
    expect(lastStatements(t)).toBe(0); // settings from the config cache, auth from the grant cache

    const unknown = generateApiKey("read");
    expect(await status(t, "/api/settings", unknown)).toBe(401);
    expect(lastStatements(t)).toBe(1);
    expect(await status(t, "/api/settings", unknown)).toBe(401);
    expect(lastStatements(t)).toBe(0);

    for (const garbage of ["nope", "tly_r_short", `${unknown}x`, "x".repeat(5000)]) {
      expect(await status(t, "/api/settings", garbage)).toBe(401);
      expect(lastStatements(t)).toBe(0);
    }
  });

  it("accepts the shape of every key Tally mints", () => {
    for (const scope of ["read", "write", "admin"] as const) {
      for (let i = 0; i < 50; i++) expect(generateApiKey(scope)).toMatch(API_KEY_SHAPE);
    }
  });

  it("follows a timezone or name change through PATCH /api/settings on the next request", async () => {
    const { writeKey, readKey } = await t.createOrg({ name: "Zoned", timezone: "UTC" });
    expect(await zoneSeen(t, readKey)).toBe("UTC");
    expect(await zoneSeen(t, writeKey)).toBe("UTC");
    expect((await t.request("PATCH", "/api/settings", { key: writeKey, body: { timezone: "Asia/Kolkata" } })).status).toBe(200);
    expect(await zoneSeen(t, readKey)).toBe("Asia/Kolkata");
    expect(await zoneSeen(t, writeKey)).toBe("Asia/Kolkata");
  });

  it("follows a timezone change and a credits change through the admin PATCH on the next request", async () => {
    const { orgId, readKey } = await t.createOrg({ timezone: "UTC" });
    expect(await zoneSeen(t, readKey)).toBe("UTC");
    const res = await t.request("PATCH", `/api/admin/organizations/${orgId}`, { body: { timezone: "America/Los_Angeles", creditsBalance: 1234 } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await zoneSeen(t, readKey)).toBe("America/Los_Angeles");
    const overview = await body(await t.request("GET", "/api/dashboard/overview", { key: readKey }));
    expect(overview.data.credits.balance).toBe(1234);
  });
});

describe("two app instances sharing one Redis", () => {
  let prefix: string;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    prefix = runPrefix("auth");
    const redisCache = (clock: Clock) => createCache({ store: redisStore({ url: REDIS_URL, timeoutMs: 500 }), clock, logger: silentLogger, keyPrefix: prefix });
    // on the worker target both instances are Workers in their own workerd, sharing the Upstash store over that Redis
    const shared = testTarget() === "worker" ? {} : { cache: redisCache };
    a = await createTestApp(shared);
    b = await createTestApp({ ...shared, database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await deleteByPrefix(prefix);
  });

  it("answers 401 on the other instance's very next request after a revocation", async () => {
    const { orgId } = await a.createOrg();
    const { keyId, apiKey } = await newKey(a, orgId);
    expect(await status(a, "/api/settings", apiKey)).toBe(200);
    expect(await status(b, "/api/settings", apiKey)).toBe(200);
    expect(await status(b, "/api/settings", apiKey)).toBe(200);
    expect(lastStatements(b)).toBe(0);

    expect((await a.request("DELETE", `/api/admin/organizations/${orgId}/keys/${keyId}`)).status).toBe(200);
    expect(await status(b, "/api/settings", apiKey)).toBe(401);
    expect(await status(a, "/api/settings", apiKey)).toBe(401);
  });

  it("shows a timezone change made through one instance on the other's next request", async () => {
    const { orgId, writeKey, readKey } = await a.createOrg({ timezone: "UTC" });
    expect(await zoneSeen(a, readKey)).toBe("UTC");
    expect(await zoneSeen(b, readKey)).toBe("UTC");
    expect((await a.request("PATCH", "/api/settings", { key: writeKey, body: { timezone: "Europe/Berlin" } })).status).toBe(200);
    expect(await zoneSeen(b, readKey)).toBe("Europe/Berlin");
    expect((await b.request("PATCH", `/api/admin/organizations/${orgId}`, { body: { timezone: "Asia/Tokyo" } })).status).toBe(200);
    expect(await zoneSeen(a, readKey)).toBe("Asia/Tokyo");
  });
});

describe("npm run tally -- key revoke", () => {
  // the CLI opens the database by URL: only the Postgres project's test database is reachable from another process
  it.skipIf(testDbKind() !== "postgres")("revokes a key by id and drops its grant from the shared cache the servers read", async () => {
    const redisCache = (clock: Clock) => createCache({ store: redisStore({ url: REDIS_URL, timeoutMs: 500 }), clock, logger: silentLogger }); // the CLI's default prefix
    // the Worker target's cache is Upstash over the same Redis, under the same default prefix
    const app = await createTestApp({ ...(testTarget() === "worker" ? {} : { cache: redisCache }), database: t.database });
    const { orgId } = await app.createOrg();
    const { keyId, apiKey } = await newKey(app, orgId);
    const hash = await sha256Hex(apiKey);
    try {
      expect(await status(app, "/api/settings", apiKey)).toBe(200);
      const [{ name }] = (await rows<{ name: string }>(t.database.db, sql`SELECT current_database() AS name`)) as [{ name: string }];
      const env = { ...process.env, DATABASE_URL: databaseUrl(process.env.TALLY_TEST_PG_URL!, name), REDIS_URL, UPSTASH_REDIS_REST_URL: "" };
      const cli = ["--import", "tsx", "functions/cli/tally.ts", "key", "revoke", "--key-id", keyId];
      const { stdout } = await promisify(execFile)(process.execPath, cli, { env, timeout: 60_000 });
      const printed = JSON.parse(stdout);
      expect(printed).toMatchObject({ revoked: { id: keyId, orgId }, cacheInvalidated: true });
      expect(await status(app, "/api/settings", apiKey)).toBe(401);
    } finally {
      await app.close();
      await deleteByPrefix(`tally:api-keys:~keys:v0:${hash}`);
      await deleteByPrefix(`tally:api-keys:~keys:g:${hash}`);
    }
  });
});
