import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { Miniflare } from "miniflare";
import { inject } from "vitest";
import { createNodeSharedCache } from "../../functions/cache/node";
import type { Cache } from "../../functions/cache/cache";
import type { AppDeps } from "../../functions/deps";
import { systemClock, type Clock } from "../../functions/lib/clock";
import { silentLogger, type LogFields } from "../../functions/lib/logger";
import { TEST_NOW_HEADER } from "../workers/constants";
import { ROOT } from "../workers/bundle";
import type { TestDatabase } from "./database";

/**
 * Which app the route suites drive: `node` (the app in this process, `app.request`) unless the project is the
 * `worker` one, where every request goes over HTTP to the Worker entry running in workerd (Miniflare), built by
 * wrangler as `wrangler deploy` builds it, over the test file's own database on the local Postgres and an Upstash REST
 * endpoint over the local Redis.
 */
export const testTarget = (): "node" | "worker" => (process.env.TALLY_TEST_TARGET === "worker" ? "worker" : "node");

/** wrangler.toml's compatibility date and flags, which workerd must run the bundle with. */
export function wranglerCompatibility(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: [...(flags ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

/** How long a request's log line may take to come through workerd's stdout after its response. */
const LOG_WAIT_MS = 5_000;

/** No body on these statuses: a Response refuses one. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export type WorkerInstance = {
  /** `fetch` of the Worker, as a Hono app's `fetch` (the suites' `app.request` ends here) */
  fetch(request: Request): Promise<Response>;
  /** the Worker's JSON log lines, as the in-process memory logger keeps them */
  logs: LogFields[];
  /** a cache over the same Upstash store as the Worker's (invalidations from the test reach it) */
  cache: Cache;
  /** runs one cron of the Worker's scheduled handler */
  scheduled(cron: string): Promise<void>;
  close(): Promise<void>;
};

/**
 * Starts the target Worker (test/workers/target/entry.ts, built once by the project's global setup) in workerd over
 * `database`. The test's `clock` is sent with every request (`x-tally-test-now`), so a moved ManualClock moves the
 * Worker too. `rateLimit` maps to TALLY_RATE_LIMIT: false is `off`, `{ requests, windowSec }` that limit.
 */
export async function startWorkerTarget(options: {
  database: TestDatabase;
  clock: Clock;
  adminKey: string;
  rateLimit?: AppDeps["rateLimit"];
  writeRateLimit?: AppDeps["writeRateLimit"];
  anonRateLimit?: AppDeps["anonRateLimit"];
}): Promise<WorkerInstance> {
  const { database, clock } = options;
  if (!database.url) throw new Error("the worker target runs over a Postgres database (a URL), not PGlite");
  /** a limit of the app's deps as the Worker's variable: `<requests>/<seconds>s` or `off` */
  const variable = (name: string, limit: AppDeps["rateLimit"], defaultRequests: number): Record<string, string> => {
    if (limit === undefined) return {};
    if (limit === false) return { [name]: "off" };
    if (limit.store || limit.timeoutMs !== undefined || (limit.clock && limit.clock !== clock))
      throw new Error("the worker target takes a rate limit's requests and window only");
    return { [name]: `${limit.requests ?? defaultRequests}/${limit.windowSec ?? 60}s` };
  };
  const script = inject("workerTargetScript");
  const logs: LogFields[] = [];
  const waiting = new Map<string, () => void>();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dirname(script),
    scriptPath: script,
    ...wranglerCompatibility(),
    bindings: {
      DATABASE_DRIVER: "postgres",
      DATABASE_URL: database.url,
      UPSTASH_REDIS_REST_URL: inject("workerUpstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("workerUpstashToken"),
      TALLY_ADMIN_KEY: options.adminKey,
      // what the in-process memory logger keeps
      LOG_LEVEL: "debug",
      ...variable("TALLY_RATE_LIMIT", options.rateLimit, 600),
      ...variable("TALLY_WRITE_RATE_LIMIT", options.writeRateLimit, 6000),
      ...variable("TALLY_ANON_RATE_LIMIT", options.anonRateLimit, 60),
    },
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      createInterface({ input: stdout }).on("line", (line) => {
        if (!line.startsWith("{")) return;
        try {
          const fields = JSON.parse(line) as LogFields;
          logs.push(fields);
          if (typeof fields.requestId === "string" && (fields.msg === "request" || fields.msg === "slow request")) waiting.get(fields.requestId)?.();
        } catch {
          // not one of ours
        }
      });
      createInterface({ input: stderr }).on("line", (line) => process.stderr.write(`[workerd] ${line}\n`));
    },
  });
  const origin = await mf.ready;
  const shared = createNodeSharedCache({ store: "upstash", url: inject("workerUpstashUrl"), token: inject("workerUpstashToken"), clock, logger: silentLogger });

  /** Resolves once the request's log line has arrived (the suites read statement counts from it). */
  const loggedOnce = (requestId: string) =>
    new Promise<void>((resolve) => {
      if (logs.some((l) => l.requestId === requestId && (l.msg === "request" || l.msg === "slow request"))) return resolve();
      const timer = setTimeout(done, LOG_WAIT_MS);
      function done() {
        clearTimeout(timer);
        waiting.delete(requestId);
        resolve();
      }
      waiting.set(requestId, done);
    });

  return {
    logs,
    cache: shared.cache,
    async fetch(request) {
      const headers = new Headers(request.headers);
      if (clock !== systemClock) headers.set(TEST_NOW_HEADER, clock.now().toISOString());
      const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
      const url = new URL(request.url);
      const res = await sendOverHttp(new URL(url.pathname + url.search, origin), request.method, headers, body);
      const requestId = res.headers.get("x-request-id");
      if (requestId) await loggedOnce(requestId);
      return res;
    },
    async scheduled(cron) {
      const worker = await mf.getWorker();
      await worker.scheduled({ cron, scheduledTime: clock.now() });
    },
    async close() {
      await shared.cache.close();
      await mf.dispose();
    },
  };
}

/**
 * One HTTP/1.1 exchange with node:http: the request's headers and bytes exactly as given (fetch would add
 * Accept-Encoding), and the answer's bytes exactly as sent (fetch would undo a gzip).
 */
function sendOverHttp(url: URL, method: string, headers: Headers, body: Buffer | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const outgoing: Record<string, string> = Object.fromEntries(headers);
    if (body !== undefined) outgoing["content-length"] = String(body.length);
    // a connection per request: a kept-alive one that workerd has just closed would reset the next request on it
    const req = httpRequest(url, { method, headers: outgoing, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 500;
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) answer.append(name, one);
        }
        resolve(new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? "", headers: answer }));
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
