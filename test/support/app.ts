import { createApp, type App } from "../../functions/app";
import { memoryCache } from "../../functions/cache/memory";
import type { Cache } from "../../functions/cache/cache";
import type { AppDeps } from "../../functions/deps";
import { ManualClock, systemClock, type Clock } from "../../functions/lib/clock";
import { memoryLogger } from "../../functions/lib/logger";
import type { VoiceConfigService } from "../../functions/voice/config-service";
import { createTestDatabase, type TestDatabase } from "./database";
import { startWorkerTarget, testTarget, type WorkerInstance } from "./worker-target";
import { memoryDeliveryLedger } from "../../functions/cache/delivery-ledger";

export const ADMIN_KEY = "test-admin-key-0123456789";

export type TestApp = {
  app: App;
  database: TestDatabase;
  deps: AppDeps;
  logs: ReturnType<typeof memoryLogger>["lines"];
  /** sends a request to the app in process; `key` becomes the Bearer token, `body` is sent as JSON */
  request(
    method: string,
    path: string,
    options?: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  /** creates an organization through the admin route and answers its id and a write, read and admin-less key */
  createOrg(input?: { name?: string; timezone?: string }): Promise<{ orgId: string; writeKey: string; readKey: string }>;
  close(): Promise<void>;
};

/**
 * The app over a fresh database of this test project (PGlite or the local Postgres) and an in-process cache; in the
 * `worker` project, the Worker entry in workerd over that database (test/support/worker-target.ts): `app.request`,
 * `request` and `createOrg` then go to the Worker over HTTP, `logs` are the Worker's, and `deps.cache` shares its
 * Upstash store. Options without an equivalent there (a cache or voice service of the test's own) throw.
 */
export async function createTestApp(
  options: {
    clock?: Clock;
    cache?: (clock: Clock) => Cache;
    database?: TestDatabase;
    /** the voice provider's config service (over a fixture provider); none by default */
    voice?: VoiceConfigService;
    voiceBudgetMs?: number;
    /** the per-key rate limit (default: the app's default, 600 requests a minute per key); also the write keys' unless `writeRateLimit` */
    rateLimit?: AppDeps["rateLimit"];
    /** the per-write-key limit (default: `rateLimit` when given, else the app's default, 6000 a minute) */
    writeRateLimit?: AppDeps["writeRateLimit"];
    /**
     * failed authentications per client address (default: off here, as the suites send hundreds of refused requests
     * from one address; test/middleware/anonymous-limit.test.ts turns it on). The client address is the request's
     * `cf-connecting-ip` header, as on the Worker, and 127.0.0.1 without one.
     */
    anonRateLimit?: AppDeps["anonRateLimit"];
  } = {},
): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const clock = options.clock ?? systemClock;
  let logger = memoryLogger();
  let worker: WorkerInstance | undefined;
  const writeRateLimit = options.writeRateLimit ?? options.rateLimit;
  const limits = {
    ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
    ...(writeRateLimit === undefined ? {} : { writeRateLimit }),
    anonRateLimit: options.anonRateLimit ?? (false as const),
  };
  if (testTarget() === "worker") {
    for (const option of ["cache", "voice", "voiceBudgetMs"] as const) {
      if (options[option] !== undefined) throw new Error(`createTestApp: the worker target has no equivalent of the ${option} option`);
    }
    worker = await startWorkerTarget({ database, clock, adminKey: ADMIN_KEY, ...limits });
    logger = Object.assign(memoryLogger(), { lines: worker.logs });
  }
  const deps: AppDeps = {
    database,
    cache: worker ? worker.cache : (options.cache ?? memoryCache)(clock),
    clock,
    logger,
    adminKey: ADMIN_KEY,
    // every read answer is parsed with its response schema and must come out unchanged (production skips the parse)
    validateResponses: true,
    ...(options.voice ? { voice: options.voice } : {}),
    ...(options.voiceBudgetMs === undefined ? {} : { voiceBudgetMs: options.voiceBudgetMs }),
    ...limits,
    clientAddress: (c) => c.req.header("cf-connecting-ip") ?? "127.0.0.1",
    // the Worker target keeps its own ledger in its Upstash store; the app in process only serves its route table there
    webhookReplays: memoryDeliveryLedger(clock),
  };
  const app = createApp(deps);
  // the suites' requests (app.request calls this.fetch) go to the Worker; the app in process serves its route table
  if (worker) app.fetch = worker.fetch;
  const request: TestApp["request"] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
    return Promise.resolve(app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }));
  };
  const createOrg: TestApp["createOrg"] = async (input = {}) => {
    const res = await request("POST", "/api/admin/organizations", { body: { name: input.name ?? "Test Org", timezone: input.timezone ?? "UTC" } });
    const json = (await res.json()) as { data: { organization: { id: string }; apiKey: string } };
    if (res.status !== 201) throw new Error(`createOrg failed: ${res.status} ${JSON.stringify(json)}`);
    const orgId = json.data.organization.id;
    const keyRes = await request("POST", `/api/admin/organizations/${orgId}/keys`, { body: { scope: "read", name: "read" } });
    const keyJson = (await keyRes.json()) as { data: { apiKey: string } };
    return { orgId, writeKey: json.data.apiKey, readKey: keyJson.data.apiKey };
  };
  return {
    app,
    database,
    deps,
    logs: logger.lines,
    request,
    createOrg,
    close: async () => {
      await (worker ? worker.close() : deps.cache.close());
      if (!options.database) await database.drop();
    },
  };
}

/** Reads a JSON body, keeping the raw text for assertion messages. */
export async function body<T = any>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 500)}`);
  }
}

export { ManualClock };
