// `npx tsx bench/coverage.ts --url postgres://…/tally_cov_bench [--before functions/read-models/coverage-before.ts] [--samples 40]`
//
// Coverage pre-aggregated (issue #16 item 2), paired in one run at the organization with the most sessions:
//   * the read: `readCoverage` (coverage_15m + raw sweep) against the read model given by --before (e.g. the previous
//     one, written out by `git show <commit>:functions/read-models/coverage.ts > functions/read-models/coverage-before.ts`),
//     days = 7, 30, 90, cold (no cache: the read model's one statement), interleaved sample by sample with a
//     `SELECT 1` floor; both answers compared on every sample (they must be equal);
//   * one session write's statement time, with and without the coverage triggers and the ended_at index (each round a
//     transaction rolled back; the "without" rounds drop both inside their transaction): a real-time insert (an agent
//     going online now), its close now, a back-dated whole session (yesterday, 8 hours), a back-dated close;
//   * the coverage part of the refresh: tally_coverage_refresh with nothing marked, and after 20 back-dated closes.
// Needs a migrated, seeded database with coverage built (`npx tsx functions/cli/rollups.ts rebuild --all`).
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { type Db, rows } from "../functions/db/database";
import { openPostgres } from "../functions/db/postgres";
import { resolveWindow } from "../functions/lib/windows";
import { readCoverage, type CoverageContext, type CoverageHour } from "../functions/read-models/coverage";
import { summarize } from "./stats";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string", default: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/tally_bench" },
    before: { type: "string" },
    samples: { type: "string", default: "40" },
    "write-rounds": { type: "string", default: "10" },
  },
});
const samples = Number(opts.samples);
const writeRounds = Number(opts["write-rounds"]);
type Read = (ctx: CoverageContext, window: Parameters<typeof readCoverage>[1]) => Promise<CoverageHour[]>;
const before: Read | null = opts.before ? ((await import(new URL(opts.before, `file://${process.cwd()}/`).href)) as { readCoverage: Read }).readCoverage : null;

const database = openPostgres({ url: opts.url, max: 2 });
const db = database.db;
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);
const timed = async <T>(fn: () => Promise<T>) => {
  const t = performance.now();
  const result = await fn();
  return { ms: performance.now() - t, result };
};

const [org] = await rows<{ id: string; name: string; timezone: string; sessions: number; agents: number }>(
  db,
  sql`SELECT o.id, o.name, o.timezone, s.n AS sessions, (SELECT count(*)::int FROM agents a WHERE a.org_id = o.id) AS agents
        FROM (SELECT org_id, count(*)::int AS n FROM agent_sessions GROUP BY 1 ORDER BY 2 DESC LIMIT 1) s JOIN organizations o ON o.id = s.org_id`,
);
if (!org) throw new Error("no agent sessions in this database");
const ctxOrg = { id: org.id, name: org.name, timezone: org.timezone, creditsBalance: 0 };
const out: Record<string, unknown> = { org: { id: org.id, timezone: org.timezone, sessions: org.sessions, agents: org.agents }, loadStart: load() };

// ---------------------------------------------------------------------------------------------------------- reads
const reads: Record<string, unknown> = {};
for (const days of [7, 30, 90]) {
  const times: Record<string, number[]> = { select1: [], before: [], after: [] };
  let mismatches = 0;
  for (let i = 0; i < samples; i++) {
    const now = new Date();
    const window = resolveWindow({ days }, org.timezone, now, 7);
    const ctx = { db, org: ctxOrg, now };
    // rotate the order so neither read always runs first
    const order = i % 2 ? (["after", "before", "select1"] as const) : (["select1", "before", "after"] as const);
    const answers: Record<string, CoverageHour[]> = {};
    for (const which of order) {
      if (which === "select1") times.select1!.push((await timed(() => db.execute(sql`SELECT 1`))).ms);
      else if (which === "before" && before) {
        const r = await timed(() => before(ctx, window));
        times.before!.push(r.ms);
        answers.before = r.result;
      } else if (which === "after") {
        const r = await timed(() => readCoverage(ctx, window));
        times.after!.push(r.ms);
        answers.after = r.result;
      }
    }
    if (answers.before && JSON.stringify(answers.before) !== JSON.stringify(answers.after)) mismatches++;
  }
  reads[`days=${days}`] = {
    select1: summarize(times.select1!),
    before: before ? summarize(times.before!) : null,
    after: summarize(times.after!),
    mismatches,
    load: load(),
  };
  process.stderr.write(`days=${days}: ${JSON.stringify(reads[`days=${days}`])}\n`);
}
out.reads = reads;

// ---------------------------------------------------------------------------------------------------------- writes
class Rollback extends Error {}
const [agent] = await rows<{ id: string }>(db, sql`SELECT id FROM agents WHERE org_id = ${org.id}::uuid ORDER BY id LIMIT 1`);
type WriteKind = "insertNow" | "closeNow" | "insertBackDated" | "closeBackDated";
const writeTimes: Record<"with" | "without", Record<WriteKind, number[]>> = {
  with: { insertNow: [], closeNow: [], insertBackDated: [], closeBackDated: [] },
  without: { insertNow: [], closeNow: [], insertBackDated: [], closeBackDated: [] },
};
for (let round = 0; round < writeRounds * 2; round++) {
  const variant = round % 2 === Math.floor(round / 2) % 2 ? "with" : "without";
  await db
    .transaction(async (txx) => {
      const tx = txx as unknown as Db;
      if (variant === "without") {
        await tx.execute(sql`DROP INDEX agent_sessions_org_ended_idx`);
        await tx.execute(sql`ALTER TABLE agent_sessions DISABLE TRIGGER USER`);
      }
      const now = new Date();
      for (let i = 0; i < 10; i++) {
        const start = new Date(now.getTime() - i);
        const ins = await timed(() =>
          rows<{ id: string }>(
            tx,
            sql`INSERT INTO agent_sessions (org_id, agent_id, started_at) VALUES (${org.id}::uuid, ${agent!.id}::uuid, ${start.toISOString()}::timestamptz) RETURNING id`,
          ),
        );
        writeTimes[variant].insertNow.push(ins.ms);
        const id = ins.result[0]!.id;
        writeTimes[variant].closeNow.push((await timed(() => tx.execute(sql`UPDATE agent_sessions SET ended_at = now() WHERE id = ${id}::uuid`))).ms);
        const yesterday = new Date(now.getTime() - 86_400_000 - i * 600_000);
        const back = await timed(() =>
          rows<{ id: string }>(
            tx,
            sql`INSERT INTO agent_sessions (org_id, agent_id, started_at, ended_at) VALUES (${org.id}::uuid, ${agent!.id}::uuid, ${yesterday.toISOString()}::timestamptz, ${new Date(yesterday.getTime() + 8 * 3_600_000).toISOString()}::timestamptz) RETURNING id`,
          ),
        );
        writeTimes[variant].insertBackDated.push(back.ms);
        writeTimes[variant].closeBackDated.push(
          (await timed(() => tx.execute(sql`UPDATE agent_sessions SET ended_at = ended_at - interval '3 hours' WHERE id = ${back.result[0]!.id}::uuid`))).ms,
        );
      }
      throw new Rollback();
    })
    .catch((e: unknown) => {
      if (!(e instanceof Rollback)) throw e;
    });
}
out.writes = Object.fromEntries(
  (["with", "without"] as const).map((v) => [v, Object.fromEntries(Object.entries(writeTimes[v]).map(([k, xs]) => [k, summarize(xs)]))]),
);
out.writesLoad = load();

// ---------------------------------------------------------------------------------------------------------- refresh
const refreshPart = async (marks: number) => {
  let ms = 0;
  let report: unknown;
  await db
    .transaction(async (txx) => {
      const tx = txx as unknown as Db;
      if (marks)
        await tx.execute(sql`UPDATE agent_sessions SET ended_at = ended_at - interval '20 minutes'
                              WHERE id IN (SELECT id FROM agent_sessions WHERE org_id = ${org.id}::uuid AND ended_at < now() - interval '2 days' ORDER BY id LIMIT ${marks})`);
      const r = await timed(() => rows(tx, sql`SELECT * FROM tally_coverage_refresh((SELECT watermark FROM rollup_state WHERE id = 1), interval '31 days')`));
      ms = r.ms;
      report = r.result[0];
      throw new Rollback();
    })
    .catch((e: unknown) => {
      if (!(e instanceof Rollback)) throw e;
    });
  return { ms: Math.round(ms * 100) / 100, report };
};
out.refresh = {
  nothingMarked: [await refreshPart(0), await refreshPart(0), await refreshPart(0)],
  twentyBackDatedCloses: [await refreshPart(20), await refreshPart(20), await refreshPart(20)],
};
out.loadEnd = load();
console.log(JSON.stringify(out, null, 2));
await database.close();
