/// <reference types="@cloudflare/vitest-pool-workers/types" />
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../functions/entries/worker";
import { WORKERS_TEST_ADMIN_KEY } from "./constants";

/**
 * The Worker entry inside workerd, over this run's own database on the local Postgres. Requests go through the
 * Worker's own binding (`exports.default`, the bindings of wrangler.toml + vitest.workers.config.ts: Hyperdrive and
 * Upstash) unless a test hands `worker.fetch` an environment of its own (DATABASE_URL alone, Neon's driver, a broken
 * one), with an execution context it then waits on.
 */

type Env = Record<string, unknown>;
type Sent = { status: number; json: any; res: Response };

const bindings: Env = env;
const self = exports.default;

/** A request to the Worker; with `env`, straight to its `fetch` with that environment, waiting on its background work. */
async function send(
  method: string,
  path: string,
  options: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; env?: Env } = {},
): Promise<Sent> {
  // Cloudflare's edge hands every request to a Worker with Accept-Encoding set
  const headers: Record<string, string> = { "accept-encoding": "gzip, br", ...(options.headers ?? {}) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers["content-type"] ??= "application/json";
  const request = new Request(`https://tally.test${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  let res: Response;
  if (options.env) {
    const ctx = createExecutionContext();
    res = await worker.fetch(request, options.env, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { status: res.status, json: parse(text), res };
  }
  res = await self.fetch(request);
  return { status: res.status, json: parse(await res.text()), res };
}

function parse(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An organization created through the admin route, with its write key. */
async function createOrg(envOverride?: Env): Promise<{ orgId: string; writeKey: string }> {
  const { status, json } = await send("POST", "/api/admin/organizations", {
    key: WORKERS_TEST_ADMIN_KEY,
    body: { name: "Workers Org", timezone: "America/New_York" },
    ...(envOverride ? { env: envOverride } : {}),
  });
  expect(status, JSON.stringify(json)).toBe(201);
  return { orgId: json.data.organization.id, writeKey: json.data.apiKey };
}

/** Writes a call with POST /api/calls and reads it back with GET /api/calls/{id} and GET /api/calls, through one environment. */
async function writeAndReadCall(envOverride?: Env) {
  const opts = envOverride ? { env: envOverride } : {};
  const { writeKey } = await createOrg(envOverride);
  const input = {
    phoneNumber: "+14155550123",
    contactName: "Ada",
    direction: "inbound",
    status: "completed",
    startedAt: "2026-03-01T09:30:00Z",
    durationSec: 300,
  };
  const created = await send("POST", "/api/calls", { key: writeKey, body: input, ...opts });
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  const read = await send("GET", `/api/calls/${created.json.data.id}`, { key: writeKey, ...opts });
  expect(read.status, JSON.stringify(read.json)).toBe(200);
  expect(read.json.data).toMatchObject({ id: created.json.data.id, phoneNumber: "+14155550123", durationSec: 300, startedAt: "2026-03-01T09:30:00.000Z" });
  expect(read.json.data.contact).toMatchObject({ name: "Ada", phone: "+14155550123" });
  // the list's statements (named prepared statements, one text per filter shape) through the same driver: twice, so a
  // connection that already holds a statement runs it again; the count from the rollups, and raw with an agent filter
  for (const path of ["/api/calls?limit=5", "/api/calls?limit=5", "/api/calls?status=completed", "/api/calls?agentId=00000000-0000-4000-8000-000000000000"]) {
    const list = await send("GET", path, { key: writeKey, ...opts });
    expect(list.status, JSON.stringify(list.json)).toBe(200);
    const { milestones: _m, objections: _o, ...single } = read.json.data;
    expect(list.json.data, path).toEqual(path.includes("agentId") ? [] : [single]);
    expect(list.json.meta.total, path).toBe(path.includes("agentId") ? 0 : 1);
  }
}

/** HMAC-SHA256 as a sender computes it, written here with WebCrypto rather than taken from the code under test. */
async function sign(secret: string, raw: string, timestamp: number): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${raw}`)));
  return `t=${timestamp},v1=${Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The test's own look at the database (its own application_name, so it never counts as the Worker's). */
let pg: postgres.Sql;
beforeAll(() => {
  pg = postgres(inject("workersDatabaseUrl"), { max: 1, onnotice: () => {}, connection: { application_name: "tally-workers-test" } });
});
afterAll(async () => {
  await pg?.end({ timeout: 5 });
});

describe("the Worker over Hyperdrive and Upstash (its configured bindings)", () => {
  it("answers GET /health: the database through Hyperdrive, the cache store in Upstash", async () => {
    await send("GET", "/health"); // the first Upstash round trip of an isolate pays for its connection
    const { status, json, res } = await send("GET", "/health");
    expect(status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ status: "ok", database: { ok: true, driver: "postgres" }, cache: { ok: true, store: "upstash" } });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("writes a call with POST /api/calls and reads it back with GET /api/calls/{id} and in GET /api/calls", async () => {
    await writeAndReadCall();
  });

  it("leaves compression to the Workers runtime: the app never gzips a body the runtime would gzip again", async () => {
    const { status, json, res } = await send("GET", "/health", { env: bindings });
    expect(status, JSON.stringify(json)).toBe(200);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(json.data.status).toBe("ok");
  });

  it("records a signed voice webhook (POST /api/webhooks/voice/{orgId}) and refuses a wrong signature", async () => {
    const { orgId, writeKey } = await createOrg();
    const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
    const settings = await send("PATCH", "/api/settings", { key: writeKey, body: { webhookSecret: secret } });
    expect(settings.status, JSON.stringify(settings.json)).toBe(200);

    const raw = JSON.stringify({
      externalId: "evt-workers-1",
      phoneNumber: "+14155550142",
      direction: "inbound",
      status: "in_progress",
      startedAt: "2026-03-10T11:58:00Z",
    });
    const now = Math.floor(Date.now() / 1000);
    const wrong = await send("POST", `/api/webhooks/voice/${orgId}`, { rawBody: raw, headers: { "tally-signature": await sign("not-the-secret", raw, now) } });
    expect(wrong.status, JSON.stringify(wrong.json)).toBe(401);

    const delivered = await send("POST", `/api/webhooks/voice/${orgId}`, { rawBody: raw, headers: { "tally-signature": await sign(secret, raw, now) } });
    expect(delivered.status, JSON.stringify(delivered.json)).toBe(201);
    const read = await send("GET", `/api/calls/${delivered.json.data.id}`, { key: writeKey });
    expect(read.status, JSON.stringify(read.json)).toBe(200);
    expect(read.json.data).toMatchObject({ status: "in_progress", phoneNumber: "+14155550142" });
  });

  it("answers GET /metrics with the histograms of the routes this isolate served", async () => {
    await send("GET", "/health");
    const { status, res, json } = await send("GET", "/metrics");
    expect(status, String(json)).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(json).toMatch(/^tally_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} [1-9]/m);
    expect(json).toMatch(/^tally_cache_store_up\{store="upstash"\} 1$/m);
    expect(json).toMatch(/^tally_database_up 1$/m);
  });
});

describe("the scheduled handler", () => {
  it("runs maintain-partitions on its cron and records the run in job_runs", async () => {
    const monthsAhead = new Date();
    monthsAhead.setUTCMonth(monthsAhead.getUTCMonth() + 3, 1);
    const partition = `calls_${monthsAhead.getUTCFullYear()}${String(monthsAhead.getUTCMonth() + 1).padStart(2, "0")}`;
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "0 3 * * *", scheduledTime: Date.now() }), bindings, ctx);
    await waitOnExecutionContext(ctx);

    const [run] = await pg`SELECT runs, failures, last_error, last_success_at, lease_until FROM job_runs WHERE name = 'maintain-partitions'`;
    expect(run, "no job_runs row for maintain-partitions").toBeDefined();
    expect(run).toMatchObject({ failures: 0, last_error: null, lease_until: null });
    expect(run!.runs).toBeGreaterThanOrEqual(1);
    expect(run!.last_success_at).not.toBeNull();
    const [found] = await pg`SELECT count(*)::int AS n FROM pg_class WHERE relname = ${partition}`;
    expect(found!.n, `partition ${partition}`).toBe(1);
  });

  it("runs nothing, and succeeds, on a cron no job has", async () => {
    const before = await pg`SELECT name, runs, failures FROM job_runs ORDER BY name`;
    const ctx = createExecutionContext();
    await expect(worker.scheduled(createScheduledController({ cron: "17 4 * * 2", scheduledTime: Date.now() }), bindings, ctx)).resolves.toBeUndefined();
    await waitOnExecutionContext(ctx);
    const after = await pg`SELECT name, runs, failures FROM job_runs ORDER BY name`;
    expect([...after], "no job ran or failed").toEqual([...before]);
  });
});

describe("the other database paths", () => {
  it("reads and writes through postgres.js straight to DATABASE_URL when no Hyperdrive is bound, and closes its connections after each request", async () => {
    const direct = { ...bindings, HYPERDRIVE: undefined };
    await writeAndReadCall(direct);
    const health = await send("GET", "/health", { env: direct });
    expect(health.json.data.database).toMatchObject({ ok: true, driver: "postgres" });
    // every invocation closed its client once its response and background work were done; a backend leaves
    // pg_stat_activity a moment after its client's Terminate, so the count is polled (an open client never reaches 0)
    const open = async () =>
      (await pg`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tally'`)[0]!.n;
    await expect.poll(open, { timeout: 3_000, interval: 50 }).toBe(0);
  });

  it("reads and writes through Neon's serverless driver (DATABASE_DRIVER=neon) over Neon's WebSocket protocol", async () => {
    const neon = { ...bindings, HYPERDRIVE: undefined, DATABASE_DRIVER: "neon", NEON_WS_PROXY: inject("neonWsProxy") };
    const health = await send("GET", "/health", { env: neon });
    expect(health.status, JSON.stringify(health.json)).toBe(200);
    expect(health.json.data.database).toMatchObject({ ok: true, driver: "neon" });
    await writeAndReadCall(neon);
  });
});

describe("configuration", () => {
  it("refuses a request with an EnvError naming the missing Upstash token", async () => {
    const ctx = createExecutionContext();
    const broken = { ...bindings, UPSTASH_REDIS_REST_TOKEN: undefined };
    await expect(worker.fetch(new Request("https://tally.test/health"), broken, ctx)).rejects.toMatchObject({
      name: "EnvError",
      message: expect.stringContaining("UPSTASH_REDIS_REST_TOKEN"),
    });
  });

  it("fails a cron run with an EnvError when the Neon driver has no DATABASE_URL", async () => {
    const ctx = createExecutionContext();
    const broken = { ...bindings, HYPERDRIVE: undefined, DATABASE_URL: undefined, DATABASE_DRIVER: "neon" };
    await expect(worker.scheduled(createScheduledController({ cron: "0 3 * * *" }), broken, ctx)).rejects.toMatchObject({
      name: "EnvError",
      message: expect.stringContaining("DATABASE_DRIVER=neon needs DATABASE_URL"),
    });
  });
});
