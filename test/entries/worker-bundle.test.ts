import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { sql } from "drizzle-orm";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { rows } from "../../functions/db/database";
import { ADMIN_KEY } from "../support/app";
import { createTestDatabase, type TestDatabase } from "../support/database";
import { TEMPLATE_DIR } from "../support/templates";
import { wranglerCompatibility } from "../support/worker-target";
import { buildWorker, type WorkerBundle } from "../workers/bundle";

/**
 * The Worker exactly as `wrangler deploy` would upload it: wrangler.toml's entry built by `wrangler deploy --dry-run
 * --outdir`, that one file started in workerd (Miniflare with `scriptPath`, as the deployed script is evaluated: at
 * global scope, outside any request), and driven over HTTP on its own socket. workerd refuses to start a script that
 * does I/O, timers, randomness or AbortController work at global scope, so `beforeAll` fails on any such violation.
 * The route suites run against this entry's handlers too (the `worker` project, test/support/worker-target.ts).
 */

/** Workers' limit on a script after gzip (paid plan; the free plan's is 3 MiB). */
const WORKERS_GZIP_LIMIT_BYTES = 10 * 1024 * 1024;

let bundle: WorkerBundle;
let database: TestDatabase;
let mf: Miniflare;
let base: URL;
const stderr: string[] = [];
let startupMs = 0;

beforeAll(async () => {
  bundle = await buildWorker(join(TEMPLATE_DIR, `worker-deployed-${process.pid}`));
  database = await createTestDatabase();
  const started = performance.now();
  mf = new Miniflare({
    modules: true,
    modulesRoot: dirname(bundle.script),
    scriptPath: bundle.script,
    ...wranglerCompatibility(),
    // wrangler.toml's [vars] come with the config, not the script: set them as a deploy would
    bindings: {
      DATABASE_DRIVER: "postgres",
      LOG_LEVEL: "warn",
      SLOW_REQUEST_MS: "500",
      DATABASE_URL: database.url!,
      UPSTASH_REDIS_REST_URL: inject("workerUpstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("workerUpstashToken"),
      TALLY_ADMIN_KEY: ADMIN_KEY,
    },
    // GET /cdn-cgi/handler/scheduled?cron=… runs the scheduled handler, as `wrangler dev --test-scheduled` does
    unsafeTriggerHandlers: true,
    handleRuntimeStdio(out: NodeJS.ReadableStream, err: NodeJS.ReadableStream) {
      out.resume();
      err.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    },
  });
  base = await mf.ready;
  startupMs = performance.now() - started;
});

afterAll(async () => {
  await mf?.dispose();
  await database?.drop();
  if (bundle) {
    const gzip = gzipSync(readFileSync(bundle.script)).length;
    // the figures the note reports; a test asserts the limit, not the time
    console.info(
      `[worker bundle] ${(bundle.bytes / 1024).toFixed(0)} KiB raw, ${(gzip / 1024).toFixed(0)} KiB gzip; wrangler build ${bundle.buildMs} ms; workerd ready in ${startupMs.toFixed(0)} ms`,
    );
  }
});

async function send(method: string, path: string, options: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers["content-type"] ??= "application/json";
  const res = await fetch(new URL(path, base), { method, headers, ...(payload === undefined ? {} : { body: payload }) });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status: res.status, headers: res.headers, json, text };
}

let org: { orgId: string; writeKey: string; readKey: string };

describe("the Worker bundle wrangler deploys", () => {
  it("fits Workers' size limit and starts in workerd without a global-scope violation", () => {
    expect(gzipSync(readFileSync(bundle.script)).length).toBeLessThan(WORKERS_GZIP_LIMIT_BYTES);
    expect(stderr.join("")).not.toMatch(/Disallowed operation|Uncaught/);
  });

  it("answers /health over HTTP with the database and Upstash", async () => {
    const res = await send("GET", "/health");
    expect(res.status, res.text).toBe(200);
    expect(res.json.data).toMatchObject({ status: "ok", database: { ok: true, driver: "postgres" }, cache: { ok: true, store: "upstash" } });
  });

  it("creates an organization and a read key through the admin routes", async () => {
    const created = await send("POST", "/api/admin/organizations", { key: ADMIN_KEY, body: { name: "Bundle Org", timezone: "America/New_York" } });
    expect(created.status, created.text).toBe(201);
    const orgId = created.json.data.organization.id as string;
    const key = await send("POST", `/api/admin/organizations/${orgId}/keys`, { key: ADMIN_KEY, body: { scope: "read", name: "read" } });
    expect(key.status, key.text).toBe(201);
    org = { orgId, writeKey: created.json.data.apiKey, readKey: key.json.data.apiKey };
  });

  it("takes a write and answers it on the next read", async () => {
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    const write = await send("POST", "/api/calls", {
      key: org.writeKey,
      body: { phoneNumber: "+14155550100", direction: "inbound", status: "completed", startedAt, durationSec: 42 },
    });
    expect(write.status, write.text).toBe(201);
    const overview = await send("GET", "/api/dashboard/overview?days=1", { key: org.readKey });
    expect(overview.status, overview.text).toBe(200);
    expect(overview.json.data.calls).toMatchObject({ total: 1, completed: 1, totalDurationSec: 42 });
    expect(overview.json.meta.cache).toBe("miss");
    const list = await send("GET", "/api/calls?limit=5", { key: org.readKey });
    expect(list.status, list.text).toBe(200);
    expect(list.json.data.map((c: { id: string }) => c.id)).toEqual([write.json.data.id]);
  });

  it("records a signed voice webhook and refuses a bad signature", async () => {
    const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
    const settings = await send("PATCH", "/api/settings", { key: org.writeKey, body: { webhookSecret: secret } });
    expect(settings.status, settings.text).toBe(200);
    const raw = JSON.stringify({
      externalId: "bundle-evt-1",
      phoneNumber: "+14155550142",
      direction: "inbound",
      status: "in_progress",
      startedAt: new Date().toISOString(),
    });
    const t = Math.floor(Date.now() / 1000);
    const sign = (key: string) => `t=${t},v1=${createHmac("sha256", key).update(`${t}.${raw}`).digest("hex")}`;
    const refused = await send("POST", `/api/webhooks/voice/${org.orgId}`, { raw, headers: { "tally-signature": sign("not-the-secret") } });
    expect(refused.status, refused.text).toBe(401);
    const accepted = await send("POST", `/api/webhooks/voice/${org.orgId}`, { raw, headers: { "tally-signature": sign(secret) } });
    expect(accepted.status, accepted.text).toBe(201);
    const [stored] = await rows<{ status: string }>(database.db, sql`SELECT status FROM calls WHERE org_id = ${org.orgId} AND external_id = 'bundle-evt-1'`);
    expect(stored?.status).toBe("in_progress");
  });

  it("runs a cron of wrangler.toml through the scheduled handler: refresh-rollups records its run", async () => {
    const res = await send("GET", `/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`);
    expect(res.status, res.text).toBe(200);
    const [run] = await rows<{ runs: number; ok: boolean }>(
      database.db,
      sql`SELECT runs, last_success_at IS NOT NULL AS ok FROM job_runs WHERE name = 'refresh-rollups'`,
    );
    expect(run).toMatchObject({ runs: 1, ok: true });
    // /health keeps its answer up to a second (HEALTH_MEMO_MS): an earlier test's may still be served
    let health = await send("GET", "/health");
    for (let i = 0; i < 12 && health.json.data.rollupLagSec === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      health = await send("GET", "/health");
    }
    expect(health.json.data.rollupLagSec, health.text).toEqual(expect.any(Number));
  });
});

describe("compression on the Worker", () => {
  it("gzips a JSON answer once for a client that accepts gzip, as the Node server does", async () => {
    const res = await fetch(new URL("/api/dashboard/analytics?days=30", base), {
      headers: { authorization: `Bearer ${org.readKey}`, "accept-encoding": "gzip" },
    });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("vary")).toMatch(/accept-encoding/i);
    // the runtime compressed it (the app leaves that to Workers); fetch undoes one gzip: what is left is the JSON
    const text = await res.text();
    expect(JSON.parse(text).data.series).toHaveLength(30);
  });
});
