// Measures the rollup refresh on a real Postgres (SPEC §7: "its cost grows with the rows changed, not with the table").
//
//   npx tsx bench/refresh.ts --url postgres://postgres@127.0.0.1:5432/postgres [--calls 1000000] [--orgs 50]
//                            [--days 90] [--seed 1] [--changed 10000] [--keep] [--db <scratch database name>] [--skip-first-build]
//
// Creates a scratch database (--db, default tally_bench_refresh_<calls>), migrates it, seeds it with the demo generator, then times:
// the first build (incremental runs until caught up; --skip-first-build leaves it out), a full recompute, and
// incremental refreshes: nothing changed, 100 and k back-dated updates at random over the whole history, k changes
// concentrated in the last 2 hours before the watermark (calls completing, scores arriving: statements of 100 rows),
// analysis replaced for k calls, k deletes, k new calls (real time). Each step is checked against the raw rows for the
// largest organization; at the end every rollup row is compared with a recompute from raw rows (two GROUP BY scans).
// The deleted calls are put back and the new calls removed at the end, so a kept database (reused by the next run)
// stays the seeded one. Drops the database at the end unless --keep. Exported `benchRefresh` lets the benchmark suite
// run the same measurement.
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { rows, type Db } from "../functions/db/database";
import { migrate } from "../functions/db/migrate";
import { openPostgres } from "../functions/db/postgres";
import { agentTotals, callTotals } from "../functions/rollups/queries";
import { recomputeAllRollups, refreshRollups, type RefreshReport } from "../functions/rollups/refresh";
import { DAY_MS } from "../functions/lib/time";
import { seed } from "../functions/seed";

export type BenchOptions = {
  url: string;
  calls: number;
  orgs: number;
  days: number;
  seed: number;
  changed: number;
  keep: boolean;
  database?: string;
  skipFirstBuild?: boolean;
};

type Timed<T> = { ms: number; result: T };
async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  const result = await fn();
  return { ms: Math.round(performance.now() - started), result };
}

const adminUrl = (url: string) => Object.assign(new URL(url), { pathname: "/postgres" }).toString();
const dbUrl = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

/** Refreshes until caught up; answers the runs' summed report and their count. */
async function refreshUntilCaughtUp(db: Db, now: Date) {
  const runs: RefreshReport[] = [];
  for (;;) {
    const report = await refreshRollups(db, now);
    runs.push(report);
    if (report.caughtUp || runs.length > 1000) break;
  }
  const sum = (k: "rowsRead" | "rowsWritten" | "bucketsRecomputed" | "dirtyMarks" | "newCalls" | "hoursRecomputed") => runs.reduce((s, r) => s + r[k], 0);
  return {
    runs: runs.length,
    rowsRead: sum("rowsRead"),
    rowsWritten: sum("rowsWritten"),
    bucketsRecomputed: sum("bucketsRecomputed"),
    hoursRecomputed: sum("hoursRecomputed"),
    dirtyMarks: sum("dirtyMarks"),
    newCalls: sum("newCalls"),
    watermark: runs.at(-1)!.watermark,
  };
}

/** The rollup answer for the largest organization's last 30 days equals the raw GROUP BY (a spot check per step). */
async function spotCheck(db: Db, orgId: string, now: Date) {
  const window = { from: new Date(now.getTime() - 30 * DAY_MS), to: now, timezone: "UTC" };
  const rolled = await timed(() => callTotals({ db, orgId }, window));
  const raw = await timed(() =>
    rows<{ calls: number; completed: number; scored: number; credits: number }>(
      db,
      sql`SELECT count(*)::int AS calls, count(*) FILTER (WHERE status = 'completed')::int AS completed, count(lead_score)::int AS scored,
                 coalesce(sum(credits_used), 0)::float8 AS credits
            FROM calls WHERE org_id = ${orgId}::uuid AND started_at >= ${window.from.toISOString()}::timestamptz AND started_at < ${now.toISOString()}::timestamptz`,
    ),
  );
  const r = raw.result[0]!;
  const t = rolled.result;
  const exact = t.calls === r.calls && t.completed === r.completed && t.scored === r.scored && t.creditsUsed === r.credits;
  if (!exact) throw new Error(`rollup answer differs from the raw rows: ${JSON.stringify({ rolled: t, raw: r })}`);
  return { exact, rollupMs: rolled.ms, rawMs: raw.ms, calls: t.calls };
}

/**
 * Warm read latency (median of 7) of a 30-day window through the query layer against the raw GROUP BY the read models
 * run today, for the largest and the median organization.
 */
async function compareReads(db: Db, now: Date) {
  const orgs = await rows<{ org_id: string; n: number }>(db, sql`SELECT org_id, count(*)::int AS n FROM calls GROUP BY 1 ORDER BY 2 DESC`);
  const median = async (fn: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) times.push((await timed(fn)).ms);
    return times.sort((a, b) => a - b)[3]!;
  };
  const out = [];
  for (const [label, org] of [
    ["largest", orgs[0]!],
    ["median", orgs[Math.floor(orgs.length / 2)]!],
  ] as const) {
    const window = { from: new Date(now.getTime() - 30 * DAY_MS), to: now, timezone: "America/New_York" };
    const from = window.from.toISOString();
    const to = now.toISOString();
    out.push({
      organization: label,
      calls90d: org.n,
      totalsRollupMs: await median(() => callTotals({ db, orgId: org.org_id }, window)),
      totalsRawMs: await median(() =>
        rows(
          db,
          sql`SELECT count(*)::int, count(*) FILTER (WHERE status = 'completed')::int, count(lead_score)::int, sum(lead_score)::float8,
                            sum(duration_sec) FILTER (WHERE status = 'completed')::float8, sum(credits_used)::float8
                       FROM calls WHERE org_id = ${org.org_id}::uuid AND started_at >= ${from}::timestamptz AND started_at < ${to}::timestamptz`,
        ),
      ),
      agentsRollupMs: await median(() => agentTotals({ db, orgId: org.org_id }, window)),
      agentsRawMs: await median(() =>
        rows(
          db,
          sql`SELECT agent_id, count(*)::int, count(*) FILTER (WHERE status = 'completed')::int, sum(lead_score)::float8
                       FROM calls WHERE org_id = ${org.org_id}::uuid AND agent_id IS NOT NULL AND started_at >= ${from}::timestamptz AND started_at < ${to}::timestamptz
                      GROUP BY 1`,
        ),
      ),
    });
  }
  return out;
}

/** k changed calls of one kind, then one refresh: its time and report. */
async function changeAndRefresh(db: Db, kind: string, k: number, now: Date, change: () => Promise<unknown>, orgId: string) {
  const write = await timed(change);
  const refresh = await timed(() => refreshRollups(db, now));
  const check = await spotCheck(db, orgId, now);
  const { rowsRead, rowsWritten, bucketsRecomputed, hoursRecomputed, dirtyMarks, newCalls } = refresh.result;
  return { kind, changed: k, writeMs: write.ms, refreshMs: refresh.ms, rowsRead, rowsWritten, bucketsRecomputed, hoursRecomputed, dirtyMarks, newCalls, check };
}

/**
 * Every rollup row against a recompute from raw rows by the rebuild's two GROUP BY scans (tally_rollup_insert_grouped,
 * a different path from the incremental one), inside a transaction that is rolled back. Needs no marks left.
 */
async function compareAllRows(db: Db) {
  const rollback = new Error("rollback");
  let result: Record<string, unknown> = {};
  const check = await timed(() =>
    db
      .transaction(async (tx) => {
        const t = tx as unknown as Db;
        const [state] = await rows<{ b: string; marks: number }>(
          t,
          sql`SELECT built_to::text AS b, (SELECT count(*)::int FROM rollup_dirty) AS marks FROM rollup_state`,
        );
        await t.execute(sql`CREATE TEMP TABLE bench_calls_before ON COMMIT DROP AS SELECT * FROM call_rollup_15m`);
        await t.execute(sql`CREATE TEMP TABLE bench_call_hours_before ON COMMIT DROP AS SELECT * FROM call_rollup_hourly`);
        await t.execute(sql`CREATE TEMP TABLE bench_agents_before ON COMMIT DROP AS SELECT * FROM agent_rollup_hourly`);
        await t.execute(sql`CREATE TEMP TABLE bench_agent_days_before ON COMMIT DROP AS SELECT * FROM agent_rollup_daily`);
        await t.execute(sql`DELETE FROM call_rollup_15m`);
        await t.execute(sql`DELETE FROM call_rollup_hourly`);
        await t.execute(sql`DELETE FROM agent_rollup_hourly`);
        await t.execute(sql`DELETE FROM agent_rollup_daily`);
        await t.execute(sql`SELECT * FROM tally_rollup_insert_grouped(NULL, (SELECT built_to FROM rollup_state WHERE id = 1))`);
        const [diff] = await rows<{ calls: number; hours: number; agents: number; days: number; call_rows: number; agent_rows: number }>(
          t,
          sql`SELECT (SELECT count(*)::int FROM ((SELECT * FROM call_rollup_15m EXCEPT ALL SELECT * FROM bench_calls_before)
                                               UNION ALL (SELECT * FROM bench_calls_before EXCEPT ALL SELECT * FROM call_rollup_15m)) d) AS calls,
                     (SELECT count(*)::int FROM ((SELECT * FROM call_rollup_hourly EXCEPT ALL SELECT * FROM bench_call_hours_before)
                                               UNION ALL (SELECT * FROM bench_call_hours_before EXCEPT ALL SELECT * FROM call_rollup_hourly)) d) AS hours,
                     (SELECT count(*)::int FROM ((SELECT * FROM agent_rollup_hourly EXCEPT ALL SELECT * FROM bench_agents_before)
                                               UNION ALL (SELECT * FROM bench_agents_before EXCEPT ALL SELECT * FROM agent_rollup_hourly)) d) AS agents,
                     (SELECT count(*)::int FROM ((SELECT * FROM agent_rollup_daily EXCEPT ALL SELECT * FROM bench_agent_days_before)
                                               UNION ALL (SELECT * FROM bench_agent_days_before EXCEPT ALL SELECT * FROM agent_rollup_daily)) d) AS days,
                     (SELECT count(*)::int FROM bench_calls_before) AS call_rows, (SELECT count(*)::int FROM bench_agents_before) AS agent_rows`,
        );
        result = {
          exact: diff!.calls === 0 && diff!.hours === 0 && diff!.agents === 0 && diff!.days === 0 && state!.marks === 0,
          differingDailyRows: diff!.days,
          differingCallRows: diff!.calls,
          differingCallHourRows: diff!.hours,
          differingAgentRows: diff!.agents,
          callRollupRows: diff!.call_rows,
          agentRollupRows: diff!.agent_rows,
          builtTo: state!.b,
          marksLeft: state!.marks,
        };
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      }),
  );
  return { ...result, ms: check.ms };
}

export async function benchRefresh(options: BenchOptions) {
  const name = options.database ?? `tally_bench_refresh_${options.calls}`;
  const admin = postgres(adminUrl(options.url), { max: 1, onnotice: () => {} });
  const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
  if (!exists) await admin.unsafe(`CREATE DATABASE "${name}"`);
  const database = openPostgres({ url: dbUrl(options.url, name), max: 4, statementTimeoutMs: 0 });
  const db = database.db;
  const out: Record<string, unknown> = {};
  try {
    await migrate(database);
    const [{ n: existing } = { n: 0 }] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM calls`);
    let now = new Date();
    if (existing === 0) {
      const seeded = await timed(() => seed(database, { orgs: options.orgs, calls: options.calls, days: options.days, seed: options.seed, now }));
      out.seed = { ms: seeded.ms, rows: seeded.result.rows };
    } else {
      // a kept database: its history ends at its newest call (the last 2 hours are then the data's last 2 hours)
      const [last] = await rows<{ at: string }>(db, sql`SELECT max(started_at)::text AS at FROM calls`);
      now = new Date(new Date(last!.at).getTime() + 60_000);
      out.seed = { reused: true, calls: existing };
    }
    await db.execute(sql`ANALYZE`);
    const [version] = await rows<{ v: string }>(db, sql`SELECT version() AS v`);
    const [largest] = await rows<{ org_id: string; n: number }>(db, sql`SELECT org_id, count(*)::int AS n FROM calls GROUP BY 1 ORDER BY 2 DESC LIMIT 1`);
    const orgId = largest!.org_id;
    out.machine = { node: process.version, postgres: version!.v, cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg() };
    out.dataset = { calls: existing || options.calls, orgs: options.orgs, days: options.days, largestOrgCalls: largest!.n };

    // 1. the first build through the incremental path (capped runs) from an empty state
    await db.execute(sql`DELETE FROM call_rollup_15m`);
    await db.execute(sql`DELETE FROM call_rollup_hourly`);
    await db.execute(sql`DELETE FROM agent_rollup_hourly`);
    await db.execute(sql`DELETE FROM agent_rollup_daily`);
    await db.execute(sql`DELETE FROM rollup_dirty`);
    await db.execute(sql`DELETE FROM rollup_agent_delta`);
    await db.execute(sql`UPDATE rollup_state SET watermark = '-infinity', built_to = '-infinity'`);
    if (options.skipFirstBuild) {
      out.firstBuild = { skipped: true };
    } else {
      const firstBuild = await timed(() => refreshUntilCaughtUp(db, now));
      out.firstBuild = { ms: firstBuild.ms, ...firstBuild.result };
    }
    // rows and total size (heap + indexes) of each rollup table, next to the calls partitions'
    const rollupSize = () =>
      rows<Record<string, number | string>>(
        db,
        sql`SELECT (SELECT count(*)::int FROM call_rollup_15m) AS call_rows, (SELECT count(*)::int FROM call_rollup_hourly) AS call_hour_rows,
                   (SELECT count(*)::int FROM agent_rollup_hourly) AS agent_rows,
                   (SELECT count(*)::int FROM agent_rollup_daily) AS agent_daily_rows,
                   pg_size_pretty(pg_total_relation_size('call_rollup_15m')) AS call_bytes,
                   pg_size_pretty(pg_total_relation_size('call_rollup_hourly')) AS call_hour_bytes,
                   pg_size_pretty(pg_total_relation_size('agent_rollup_hourly')) AS agent_bytes,
                   pg_size_pretty(pg_total_relation_size('agent_rollup_daily')) AS agent_daily_bytes,
                   (SELECT count(*)::int FROM calls) AS calls_rows,
                   (SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits WHERE inhparent = 'calls'::regclass) AS calls_bytes`,
      );
    const vacuum = async () => {
      await db.execute(sql`VACUUM ANALYZE call_rollup_15m`);
      await db.execute(sql`VACUUM ANALYZE call_rollup_hourly`);
      await db.execute(sql`VACUUM ANALYZE agent_rollup_hourly`);
      await db.execute(sql`VACUUM ANALYZE agent_rollup_daily`);
    };
    if (!options.skipFirstBuild) out.rollupSize = (await rollupSize())[0];
    await vacuum();

    // 2. the full recompute, for comparison (then VACUUM: it leaves every old row dead, as autovacuum would clean)
    const full = await timed(() => recomputeAllRollups(db, now));
    out.fullRecompute = { ms: full.ms, ...full.result };
    await vacuum();
    if (options.skipFirstBuild) out.rollupSize = (await rollupSize())[0];
    out.noChange = await changeAndRefresh(db, "nothing changed", 0, now, async () => {}, orgId);

    // 3. k changed calls, of each kind
    const k = options.changed;
    const startNow = now;
    // k calls drawn uniformly (BERNOULLI, not SYSTEM: whole pages would put them in a few buckets), before the watermark
    const [{ total } = { total: 1 }] = await rows<{ total: number }>(db, sql`SELECT count(*)::int AS total FROM calls`);
    const sample = async (n: number) =>
      (
        await rows<{ id: string }>(
          db,
          sql`SELECT id FROM calls TABLESAMPLE BERNOULLI (${Math.min(100, ((n * 1.5) / total) * 100)}::real)
               WHERE started_at < ${now.toISOString()}::timestamptz - interval '1 hour' LIMIT ${n}`,
        )
      ).map((r) => r.id);
    const idArray = (ids: string[]) => sql`${`{${ids.join(",")}}`}::uuid[]`;
    const steps = [];
    for (const n of [100, k]) {
      const ids = await sample(n);
      steps.push(
        await changeAndRefresh(
          db,
          "back-dated updates at random over the whole history (status, score)",
          ids.length,
          now,
          () =>
            db.execute(
              sql`UPDATE calls SET lead_score = CASE WHEN lead_score IS NULL THEN 55 ELSE NULL END, status = 'completed' WHERE id = ANY(${idArray(ids)})`,
            ),
          orgId,
        ),
      );
    }
    {
      // k row changes to the calls of the 2 hours before the watermark, in statements of 100 rows as ingestion writes
      // them (status, duration, score, credits): a call is typically changed several times
      const w = new Date(Math.floor(now.getTime() / 900_000) * 900_000);
      const recent = (
        await rows<{ id: string }>(
          db,
          sql`SELECT id FROM calls WHERE started_at >= ${w.toISOString()}::timestamptz - interval '2 hours' AND started_at < ${w.toISOString()}::timestamptz ORDER BY started_at`,
        )
      ).map((r) => r.id);
      const batch = Math.min(100, recent.length);
      const statements = recent.length ? Math.ceil(k / batch) : 0;
      const step = await changeAndRefresh(
        db,
        "changes in the last 2 hours (statements of 100 rows)",
        statements * batch,
        now,
        async () => {
          for (let i = 0; i < statements; i++) {
            const ids = Array.from({ length: batch }, (_, j) => recent[(i * batch + j) % recent.length]!);
            await db.execute(sql`UPDATE calls SET status = 'completed', duration_sec = coalesce(duration_sec, 0) + 1,
                                                lead_score = (coalesce(lead_score, 0) + 7) % 101, credits_used = credits_used + 1
                                WHERE id = ANY(${idArray(ids)})`);
          }
        },
        orgId,
      );
      steps.push({ ...step, distinctCalls: recent.length, statements });
    }
    {
      const ids = await sample(k);
      steps.push(
        await changeAndRefresh(
          db,
          "analysis replaced (milestones) at random",
          ids.length,
          now,
          () =>
            db.execute(sql`WITH gone AS (DELETE FROM call_milestones WHERE call_id = ANY(${idArray(ids)}) RETURNING call_id, call_started_at, org_id)
                         INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
                         SELECT DISTINCT call_id, call_started_at, org_id, 'bench', true FROM gone`),
          orgId,
        ),
      );
    }
    {
      // kept aside (untimed) and put back at the end, so that a kept database stays the seeded one
      const ids = await sample(k);
      await db.execute(sql`CREATE TABLE IF NOT EXISTS bench_deleted_calls (LIKE calls)`);
      await db.execute(sql`TRUNCATE bench_deleted_calls`);
      await db.execute(sql`INSERT INTO bench_deleted_calls SELECT * FROM calls WHERE id = ANY(${idArray(ids)})`);
      steps.push(
        await changeAndRefresh(db, "deletes at random", ids.length, now, () => db.execute(sql`DELETE FROM calls WHERE id = ANY(${idArray(ids)})`), orgId),
      );
    }
    {
      // k new calls in the minutes after the watermark (the real-time path: no marks), then the next minute's refresh
      const later = new Date(now.getTime() + 20 * 60_000);
      steps.push(
        await changeAndRefresh(
          db,
          "new calls (real time)",
          k,
          later,
          () =>
            db.execute(sql`INSERT INTO calls (org_id, contact_id, agent_id, direction, status, phone_number, started_at, duration_sec, credits_used, lead_score)
                         SELECT org_id, contact_id, agent_id, direction, status, phone_number,
                                ${now.toISOString()}::timestamptz + (random() * interval '15 minutes'), duration_sec, credits_used, lead_score
                           FROM calls TABLESAMPLE SYSTEM (5) LIMIT ${k}`),
          orgId,
        ),
      );
      now = later;
    }
    out.incremental = steps;

    // 4. put the data set back (deleted calls in, new calls out), refresh, and compare every rollup row with raw rows
    await db.execute(sql`INSERT INTO calls SELECT * FROM bench_deleted_calls`);
    await db.execute(sql`DROP TABLE bench_deleted_calls`);
    await db.execute(sql`DELETE FROM calls WHERE started_at >= ${startNow.toISOString()}::timestamptz`);
    const restore = await timed(() => refreshUntilCaughtUp(db, now));
    out.restore = { ms: restore.ms, bucketsRecomputed: restore.result.bucketsRecomputed, dirtyMarks: restore.result.dirtyMarks };
    out.finalCheck = await compareAllRows(db);
    if (!out.finalCheck || !(out.finalCheck as { exact: boolean }).exact)
      throw new Error(`rollup rows differ from the raw rows: ${JSON.stringify(out.finalCheck)}`);
    out.reads = await compareReads(db, now);
    return out;
  } finally {
    await database.close();
    if (!options.keep) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("bench/refresh.ts");
if (isMain) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      calls: { type: "string", default: "1000000" },
      orgs: { type: "string", default: "50" },
      days: { type: "string", default: "90" },
      seed: { type: "string", default: "1" },
      changed: { type: "string", default: "10000" },
      keep: { type: "boolean", default: false },
      db: { type: "string" },
      "skip-first-build": { type: "boolean", default: false },
    },
  });
  const url = values.url ?? process.env.DATABASE_URL;
  if (!url) {
    console.error("usage: npx tsx bench/refresh.ts --url postgres://... [--calls N] [--orgs N] [--days N] [--changed K] [--keep]");
    process.exit(2);
  }
  const result = await benchRefresh({
    url,
    calls: Number(values.calls),
    orgs: Number(values.orgs),
    days: Number(values.days),
    seed: Number(values.seed),
    changed: Number(values.changed),
    keep: values.keep ?? false,
    ...(values.db ? { database: values.db } : {}),
    skipFirstBuild: values["skip-first-build"] ?? false,
  });
  console.log(JSON.stringify(result, null, 2));
}
