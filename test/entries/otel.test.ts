import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testDbKind } from "../support/database";
import { openPglite } from "../../functions/db/pglite";
import { pgliteTemplatePath } from "../support/templates";
import { type OtlpReceiver, startOtlpReceiver } from "../fixtures/otlp-receiver";
import { killNodeEntries, startNodeEntry } from "../support/node-entry";

/**
 * SPEC §11 "Traces": the Node entry as `npm start` runs it, in its own process, exporting to a real OTLP/HTTP receiver
 * on loopback (test/fixtures/otlp-receiver.ts decodes both encodings). On PGlite the entry opens its own data directory;
 * on the Postgres project it is handed DATABASE_URL of a fresh database. The cache is the in-process store.
 */
const ADMIN_KEY = "otel-test-admin-key-0123456789";
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

type Entry = { base: string; modules(): string[]; stop(): Promise<void> };

let database: TestDatabase | undefined;
let workDir: string;
/** a migration of an empty PGlite takes a minute on this shared machine; the entry's start is given three */
const START_TIMEOUT_MS = 180_000;

/** Starts functions/entries/node.ts with `env` added and waits until it answers /health. */
async function startEntry(env: Record<string, string>): Promise<Entry> {
  const moduleLog = join(workDir, `modules-${randomUUID()}.log`);
  const entry = await startNodeEntry({
    env: {
      TALLY_DATA_DIR: join(workDir, "data"),
      TALLY_DEMO: "off",
      TALLY_SCHEDULER: "off",
      TALLY_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: "warn",
      MODULE_LOG: moduleLog,
      ...(database?.url ? { DATABASE_URL: database.url } : {}),
      ...env,
    },
    unset: ["DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SERVICE_NAME"],
    imports: ["./test/support/module-log.ts"],
    timeoutMs: START_TIMEOUT_MS,
  });
  return { ...entry, modules: () => readFileSync(moduleLog, "utf8").split("\n").filter(Boolean) };
}

async function call(base: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

const openTelemetryModules = (modules: string[]) => modules.filter((m) => m.includes("/@opentelemetry/"));

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "tally-otel-"));
  if (testDbKind() === "postgres") database = await createTestDatabase();
  else {
    // the entry's data directory starts as the migrated template, so its own migration has little left to do
    mkdirSync(join(workDir, "data"));
    const template = await openPglite({ dataDir: join(workDir, "data", "pgdata"), loadDataDir: new Blob([readFileSync(pgliteTemplatePath())]) });
    await template.close();
  }
}, 120_000);
afterAll(async () => {
  killNodeEntries();
  await database?.drop();
  rmSync(workDir, { recursive: true, force: true });
});

describe.each(["http/protobuf", "http/json"] as const)("traces over OTLP/HTTP (%s)", (protocol) => {
  let receiver: OtlpReceiver;
  let entry: Entry;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // http/protobuf is the default: that run leaves the protocol variable unset
    entry = await startEntry({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      ...(protocol === "http/json" ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}),
    });
  }, START_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await entry?.stop();
    await receiver?.close();
  });

  it("exports a server span per request, named by its route pattern, with its SQL statements and cache-store calls as children", async () => {
    const created = await call(entry.base, "POST", "/api/admin/organizations", ADMIN_KEY, { name: "Traced", timezone: "UTC" });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const orgId: string = created.json.data.organization.id;
    const writeKey: string = created.json.data.apiKey;

    const read = await call(entry.base, "GET", "/api/dashboard/overview?days=7", writeKey);
    expect(read.status, JSON.stringify(read.json)).toBe(200);

    const server = await receiver.waitFor((s) => s.name === "GET /api/dashboard/overview" && s.kind === SERVER);
    expect(server.parentSpanId).toBe("");
    expect(server.resource["service.name"]).toBe("tally");
    expect(server.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.route": "/api/dashboard/overview",
      "http.response.status_code": 200,
      "url.path": "/api/dashboard/overview",
      "url.scheme": "http",
    });
    expect(server.statusCode).toBe(0);

    // children are exported when they end, which is before their parent: by now the batch holding the server span has them
    const children = receiver.spans.filter((s) => s.traceId === server.traceId && s.parentSpanId === server.spanId);
    const statements = children.filter((s) => s.attributes["db.system.name"] === "postgresql");
    const storeCalls = children.filter((s) => typeof s.attributes["tally.cache.store"] === "string");
    expect(statements.length, JSON.stringify(children.map((s) => s.name))).toBeGreaterThan(0);
    expect(storeCalls.length, JSON.stringify(children.map((s) => s.name))).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.kind).toBe(CLIENT);
      const text = String(statement.attributes["db.query.text"]);
      expect(text.length).toBeGreaterThan(0);
      expect(statement.name).toBe(statement.attributes["db.operation.name"]);
      // parameters travel apart from the text: neither the organization nor the key appears in it
      expect(text).not.toContain(orgId);
      expect(text).not.toContain(writeKey);
    }
    // a read of the overview reads the calls table with the organization as a bound parameter
    expect(statements.some((s) => /\$1/.test(String(s.attributes["db.query.text"])))).toBe(true);
    // a miss looks the key up in the store, then writes the value it loaded
    expect(storeCalls.map((s) => s.name)).toEqual(expect.arrayContaining(["cache get"]));
    expect(storeCalls.some((s) => s.name === "cache set" || s.name === "cache setIf")).toBe(true);
    for (const storeCall of storeCalls) {
      expect(storeCall.kind).toBe(CLIENT);
      expect(storeCall.attributes["tally.cache.store"]).toBe("memory");
      expect(storeCall.attributes["db.operation.name"]).toBe(storeCall.name.slice("cache ".length));
    }
    // the request's spans are one trace: nothing of it is a root but the server span
    const trace = receiver.spans.filter((s) => s.traceId === server.traceId);
    expect(trace.filter((s) => s.parentSpanId === "")).toEqual([server]);
  });

  it("names the route by its pattern for a path with an id, and leaves a 4xx unmarked; a path no route matches is named by its method", async () => {
    const created = await call(entry.base, "POST", "/api/admin/organizations", ADMIN_KEY, { name: "Other", timezone: "UTC" });
    const missing = await call(entry.base, "GET", "/api/calls/00000000-0000-4000-8000-000000000000", created.json.data.apiKey);
    expect(missing.status, JSON.stringify(missing.json)).toBe(404);
    const span = await receiver.waitFor((s) => s.kind === SERVER && s.attributes["url.path"] === "/api/calls/00000000-0000-4000-8000-000000000000");
    expect(span.name).toBe("GET /api/calls/:id");
    expect(span.attributes["http.route"]).toBe("/api/calls/:id");
    expect(span.attributes["http.response.status_code"]).toBe(404);
    expect(span.statusCode).not.toBe(ERROR);

    const nowhere = await fetch(`${entry.base}/nowhere`);
    expect(nowhere.status).toBe(404);
    const unrouted = await receiver.waitFor((s) => s.kind === SERVER && s.attributes["url.path"] === "/nowhere");
    expect(unrouted.name).toBe("GET");
    expect(unrouted.attributes["http.route"]).toBeUndefined();
  });

  it(`posts ${protocol} to <endpoint>/v1/traces and loads the OpenTelemetry SDK`, () => {
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request.path).toBe("/v1/traces");
      expect(request.contentType).toMatch(protocol === "http/json" ? /^application\/json/ : /^application\/x-protobuf/);
    }
    // the control for the suite below: the module log does see the SDK when it is loaded
    expect(openTelemetryModules(entry.modules())).toEqual(expect.arrayContaining([expect.stringContaining("/@opentelemetry/sdk-trace-node/")]));
  });
});

describe("without OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it("loads no OpenTelemetry module and serves as before", { timeout: START_TIMEOUT_MS + 60_000 }, async () => {
    const entry = await startEntry({});
    try {
      const created = await call(entry.base, "POST", "/api/admin/organizations", ADMIN_KEY, { name: "Untraced", timezone: "UTC" });
      expect(created.status, JSON.stringify(created.json)).toBe(201);
      const read = await call(entry.base, "GET", "/api/dashboard/overview?days=7", created.json.data.apiKey);
      expect(read.status, JSON.stringify(read.json)).toBe(200);
    } finally {
      await entry.stop();
    }
    const modules = entry.modules();
    expect(modules.some((m) => m.includes("/functions/entries/node.ts"))).toBe(true);
    expect(modules.some((m) => m.includes("/functions/entries/otel.ts"))).toBe(false);
    expect(openTelemetryModules(modules)).toEqual([]);
  });
});
