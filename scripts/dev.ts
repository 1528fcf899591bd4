/**
 * `npm run dev`: the Workers entry on this machine, offline, against the local services.
 *
 * 1. creates the database `tally_dev` on the local Postgres if it is missing and migrates it (`migrate()`), and seeds
 *    the demo organization into it when it has none;
 * 2. serves Upstash's REST protocol over the local Redis (test/fixtures/upstash-rest.ts), the Worker's cache;
 * 3. runs `wrangler dev --local --test-scheduled` with the environment pointing at both, so that
 *    `curl "http://localhost:8787/__scheduled?cron=0+3+*+*+*"` runs that cron's jobs through the scheduled handler.
 *
 * Settings (environment): DEV_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tally_dev), REDIS_URL
 * (default redis://127.0.0.1:6379), PORT (8787), TALLY_ADMIN_KEY (a fixed local key by default).
 * Ctrl-C stops wrangler by its process group (killing only `npx` or wrangler's Node process would leave workerd
 * running), then the fixture.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { firstRow } from "../functions/db/database";
import { migrate } from "../functions/db/migrate";
import { openPostgres } from "../functions/db/postgres";
import { createDemoOrganization, type DemoKeys } from "../functions/entries/demo";
import { startUpstashRest } from "../test/fixtures/upstash-rest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DATABASE_URL = process.env.DEV_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/tally_dev";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PORT = Number(process.env.PORT ?? 8787);
const ADMIN_KEY = process.env.TALLY_ADMIN_KEY ?? "tally-dev-admin-key-local-only";
/** How long wrangler gets to stop after SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 5_000;
/** How long the first build and start of workerd may take before we stop waiting to print the hints. */
const READY_TIMEOUT_MS = 60_000;

const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);

/** Creates the database when missing (CREATE DATABASE cannot run inside a transaction or take parameters). */
async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`DEV_DATABASE_URL must name a plain database (letters, digits, _): ${name}`);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const sqlAdmin = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const [exists] = await sqlAdmin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (!exists) {
      await sqlAdmin.unsafe(`CREATE DATABASE "${name}"`);
      say(`created database ${name}`);
    }
  } finally {
    await sqlAdmin.end();
  }
}

const DEMO_KEYS_FILE = join(ROOT, ".wrangler", "tally-dev-demo-keys.json");

/** Migrates, and seeds the demo organization into an empty database (its keys are printed and kept in .wrangler/). */
async function prepareDatabase(): Promise<DemoKeys | undefined> {
  await ensureDatabase(DATABASE_URL);
  const database = openPostgres({ url: DATABASE_URL, max: 1 });
  try {
    await migrate(database);
    say(`migrated ${DATABASE_URL}`);
    const orgs = await firstRow<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM organizations`);
    if (orgs?.n !== 0) return existsSync(DEMO_KEYS_FILE) ? (JSON.parse(readFileSync(DEMO_KEYS_FILE, "utf8")) as DemoKeys) : undefined;
    const demo = await createDemoOrganization(database, new Date());
    mkdirSync(join(ROOT, ".wrangler"), { recursive: true });
    writeFileSync(DEMO_KEYS_FILE, JSON.stringify(demo, null, 2), { mode: 0o600 });
    return demo;
  } finally {
    await database.close();
  }
}

async function waitUntilServing(base: string): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/health`);
      await res.arrayBuffer();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return false;
}

async function main() {
  const demo = await prepareDatabase();
  const upstash = await startUpstashRest({ redisUrl: REDIS_URL });
  say(`Upstash REST protocol over ${REDIS_URL} at ${upstash.url}`);

  const vars = {
    DATABASE_URL,
    UPSTASH_REDIS_REST_URL: upstash.url,
    UPSTASH_REDIS_REST_TOKEN: upstash.token,
    TALLY_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  const args = ["dev", "--local", "--test-scheduled", "--ip", "127.0.0.1", "--port", String(PORT), "--show-interactive-dev-session=false"];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);

  // its own process group (detached), so that stopping it stops workerd too; no stdin: a background group reading
  // the terminal would be stopped by SIGTTIN
  const wrangler = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
  });

  let stopping: Promise<void> | undefined;
  const exited = new Promise<number>((resolve) => wrangler.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (wrangler.pid) process.kill(-wrangler.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  const stop = (code: number) =>
    (stopping ??= (async () => {
      signalGroup("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      // workerd may outlive wrangler's own Node process for a moment: make sure nothing of the group is left
      signalGroup("SIGKILL");
      await upstash.close();
      process.exit(code);
    })());
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGHUP", () => void stop(0));
  void exited.then((code) => {
    if (!stopping) {
      say(`wrangler exited (${code})`);
      void stop(code);
    }
  });

  const base = `http://localhost:${PORT}`;
  if (await waitUntilServing(`http://127.0.0.1:${PORT}`)) {
    const lines = [
      `the Worker is serving ${base} (database ${DATABASE_URL}, cache: Upstash REST over ${REDIS_URL})`,
      `  curl ${base}/health`,
      `  curl ${base}/metrics`,
      `  curl "${base}/__scheduled?cron=0+3+*+*+*"     # runs maintain-partitions through the scheduled handler`,
      `  admin key: ${ADMIN_KEY}`,
    ];
    if (demo) {
      lines.push(
        `demo organization "${demo.organizationName}" (${demo.orgId}), keys kept in .wrangler/tally-dev-demo-keys.json`,
        `  read key:  ${demo.readKey}`,
        `  write key: ${demo.writeKey}`,
        `  curl -H "Authorization: Bearer ${demo.readKey}" ${base}/api/calls/${demo.sampleCallId}`,
      );
    }
    lines.push("Ctrl-C stops wrangler, workerd and the fixture.");
    for (const line of lines) say(line);
  }
}

main().catch((error) => {
  process.stderr.write(`[dev] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
