// `npm run seed -- --orgs N --calls M --days D --seed S [--largest-share X]`: fills the database with demo data.
// Uses DATABASE_URL (postgres.js, COPY) when set, else PGlite at TALLY_DATA_DIR (default .tally/).
import { parseArgs } from "node:util";
import type { Database } from "../db/database";
import { migrate } from "../db/migrate";
import { openPglite } from "../db/pglite";
import { openPostgres } from "../db/postgres";
import { createApiKey } from "../services/organizations";
import { SeedOptionsError, seed, seedDemo, seedOptionProblems, type SeedOptions, type SeedProgress, type SeedResult } from "../seed";

const USAGE = `usage: npm run seed -- [--orgs N] [--calls M] [--days D] [--seed S] [options]

  --orgs N                 organizations (default 5)
  --calls M                calls across all organizations (default 50000)
  --days D                 days of history ending now (default 90)
  --seed S                 same seed => same rows, ids included (default 1)
  --largest-share X        the first organization takes this share (0-1] of the calls
  --largest-agents N       agents of that largest organization (default: as the others)
  --agents-per-org N       agents per organization (default: grows with its size)
  --pageviews-per-call X   widget pageviews per call (default 2)
  --now ISO                end of the history (default: now); with --seed, fixes every row
  --keys                   create and print a read and a write key for the first organization
  --demo                   seed the "Demo Dental" demo organization instead (prints its keys)

DATABASE_URL selects Postgres (loaded with COPY); otherwise PGlite at TALLY_DATA_DIR (default .tally/).`;

class UsageError extends Error {}

/** The CLI's names for the options seedOptionProblems reports. */
const FLAGS: Record<string, string> = {
  orgs: "--orgs",
  calls: "--calls",
  days: "--days",
  seed: "--seed",
  now: "--now",
  largestOrgShare: "--largest-share",
  largestOrgAgents: "--largest-agents",
  agentsPerOrg: "--agents-per-org",
  pageviewsPerCall: "--pageviews-per-call",
};

function number(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? "an integer" : "a number"} (got "${raw}")`);
  }
  return value;
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** A real calendar instant with an offset (2026-02-30 is refused, not rolled over into March). */
function parseInstant(raw: string): Date {
  const m = INSTANT.exec(raw);
  const date = new Date(raw);
  const [y, mo, d, h, mi, s] = (m ?? []).slice(1).map((x) => Number(x ?? 0));
  const calendar = m ? new Date(Date.UTC(y!, mo! - 1, d!)) : null;
  if (!m || Number.isNaN(date.getTime()) || calendar!.getUTCMonth() !== mo! - 1 || calendar!.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59) {
    throw new UsageError(`--now must be an ISO-8601 instant with an offset, such as 2026-03-01T12:00:00Z (got "${raw}")`);
  }
  return date;
}

function parseOptions(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        orgs: { type: "string" },
        calls: { type: "string" },
        days: { type: "string" },
        seed: { type: "string" },
        "largest-share": { type: "string" },
        "largest-agents": { type: "string" },
        "agents-per-org": { type: "string" },
        "pageviews-per-call": { type: "string" },
        now: { type: "string" },
        keys: { type: "boolean" },
        demo: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const now = v.now === undefined ? new Date() : parseInstant(v.now);
  const seedValue = v.seed ?? "1";
  const options: SeedOptions = {
    orgs: number("orgs", v.orgs, true) ?? 5,
    calls: number("calls", v.calls, true) ?? 50_000,
    days: number("days", v.days, true) ?? 90,
    seed: /^-?\d+$/.test(seedValue) ? Number(seedValue) : seedValue,
    now,
    largestOrgShare: number("largest-share", v["largest-share"], false),
    largestOrgAgents: number("largest-agents", v["largest-agents"], true),
    agentsPerOrg: number("agents-per-org", v["agents-per-org"], true),
    pageviewsPerCall: number("pageviews-per-call", v["pageviews-per-call"], false),
  };
  const problems = seedOptionProblems(options);
  if (problems.length > 0) throw new UsageError(problems.map((p) => p.replace(/^\w+/, (name) => FLAGS[name] ?? name)).join("\n"));
  return { options, help: v.help === true, keys: v.keys === true, demo: v.demo === true };
}

/** A one-line progress bar on stderr, redrawn at most ten times a second; silent when not a TTY or under CI. */
function progressBar(): ((p: SeedProgress) => void) | undefined {
  if (!process.stderr.isTTY || (process.env.CI && process.env.CI !== "false")) return undefined;
  let started = 0;
  let last = 0;
  return (p) => {
    const t = Date.now();
    started ||= t;
    if (t - last < 100 && p.done !== p.total) return;
    last = t;
    const fraction = p.total > 0 ? p.done / p.total : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const seconds = (t - started) / 1000;
    const line = `${p.phase.padEnd(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${p.done.toLocaleString("en-US")}/${p.total.toLocaleString("en-US")}  ${seconds.toFixed(1)}s`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
  };
}

function summary(result: SeedResult, driver: string): string {
  const total = Object.values(result.rows).reduce((a, b) => a + b, 0);
  const width = Math.max(...Object.keys(result.rows).map((k) => k.length));
  const lines = Object.entries(result.rows).map(([table, n]) => `  ${table.padEnd(width)}  ${n.toLocaleString("en-US").padStart(12)}`);
  const largest = [...result.organizations].sort((a, b) => b.calls - a.calls).slice(0, 5);
  return [
    `seeded ${driver} in ${result.seconds.toFixed(1)} s (${Math.round(total / result.seconds).toLocaleString("en-US")} rows/s, history up to ${result.now.toISOString()})`,
    ...lines,
    `  ${"total".padEnd(width)}  ${total.toLocaleString("en-US").padStart(12)}`,
    `largest organizations:`,
    ...largest.map((o) => `  ${o.id}  ${o.timezone.padEnd(20)} ${o.calls.toLocaleString("en-US").padStart(10)} calls  ${o.name}`),
  ].join("\n");
}

async function openDatabase(): Promise<{ database: Database; driver: string }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    // no statement timeout: COPY batches and ANALYZE of a large seed may run longer than a request may
    return { database: openPostgres({ url, max: 8, statementTimeoutMs: 0 }), driver: `Postgres (${new URL(url).pathname.slice(1) || "postgres"})` };
  }
  const dataDir = process.env.TALLY_DATA_DIR || ".tally";
  return { database: await openPglite({ dataDir }), driver: `PGlite (${dataDir})` };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`seed: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { database, driver } = await openDatabase();
  const onProgress = progressBar();
  try {
    await migrate(database);
    if (parsed.demo) {
      const demo = await seedDemo(database, { now: parsed.options.now, onProgress });
      if (onProgress) process.stderr.write("\r\x1b[K");
      process.stdout.write(
        `${summary(demo.result, driver)}\n${demo.organization.name}: write key ${demo.writeKey}\n${demo.organization.name}: read key  ${demo.readKey}\n`,
      );
      return 0;
    }
    const result = await seed(database, { ...parsed.options, onProgress });
    if (onProgress) process.stderr.write("\r\x1b[K");
    process.stdout.write(`${summary(result, driver)}\n`);
    if (parsed.keys) {
      const first = result.organizations[0]!;
      const write = await createApiKey(database.db, { orgId: first.id, scope: "write", name: "seed write key" });
      const read = await createApiKey(database.db, { orgId: first.id, scope: "read", name: "seed read key" });
      process.stdout.write(`${first.name}: write key ${write.apiKey}\n${first.name}: read key  ${read.apiKey}\n`);
    }
    return 0;
  } catch (error) {
    if (onProgress) process.stderr.write("\n");
    process.stderr.write(`seed: ${error instanceof SeedOptionsError ? error.problems.join("\n") : error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await database.close();
  }
}

process.exitCode = await main();
