// Paired before/after of one refresh step (issue #16 item 3): the same change, refreshed on databases copied from one
// template (`CREATE DATABASE … TEMPLATE`), one migrated with the old code and one with the new, trials alternating
// between them (A B, B A, …) so that a shared machine's load falls on both alike.
//
//   npx tsx bench/refresh-paired.ts --url postgres://postgres@127.0.0.1:5432/postgres --dbs before,after
//                                   [--kind scattered|recent|analysis|deletes|nothing] [--trials 5] [--changed 10000]
//
// A trial: the change (untimed; `scattered` = bench/refresh.ts's back-dated updates at random, `recent` = its changes
// in the last 2 hours in statements of 100, `analysis` = milestones replaced, `deletes` = calls deleted), then the
// refresh timed as bench/refresh.ts times it (the advance and the transaction), with its server backend's CPU time
// (/proc: the server must run on this machine) and its WAL and buffers (auto_explain of the top-level statement, without
// per-node timing); then the change is undone, folded in and the rollups and the log vacuumed, so every trial starts
// from the same rows. The calls changed are the same in every database: the first of a hash order, kept in
// `bench_step_sample`. `--check` compares every rollup row with the rebuild's GROUP BY at the end.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    dbs: { type: "string" },
    kind: { type: "string", default: "scattered" },
    trials: { type: "string", default: "5" },
    changed: { type: "string", default: "10000" },
    check: { type: "boolean", default: false },
  },
});
const url = values.url ?? process.env.DATABASE_URL;
if (!url || !values.dbs) {
  console.error("usage: npx tsx bench/refresh-paired.ts --url postgres://... --dbs before,after [--kind scattered] [--trials 5]");
  process.exit(2);
}
const kind = values.kind!;
const k = Number(values.changed);
const dbs = values.dbs.split(",");
const notices: string[] = [];
const connect = (name: string) =>
  postgres(Object.assign(new URL(url), { pathname: `/${name}` }).toString(), {
    max: 1,
    onnotice: (n) => notices.push(String(n.message)),
    connection: { jit: "off", statement_timeout: 0 },
  });
const conns = new Map(dbs.map((d) => [d, connect(d)]));

/** A server backend's user + system CPU time in ms (clock ticks of 10 ms). */
function backendCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function refresh(sql: postgres.Sql, now: Date) {
  const started = performance.now();
  await sql`SELECT tally_rollup_advance(${now.toISOString()}::timestamptz, 200000, 2000)`;
  const report = await sql.begin(async (tx) => {
    await tx`SELECT set_config('statement_timeout', '120000', true)`;
    const [row] = await tx`SELECT tally_rollup_refresh(20000, ${now.toISOString()}::timestamptz) AS r`;
    return row!.r as Record<string, number>;
  });
  return { ms: performance.now() - started, report };
}

async function change(sql: postgres.Sql) {
  if (kind === "scattered")
    await sql`UPDATE calls SET lead_score = CASE WHEN lead_score IS NULL THEN 55 ELSE NULL END, status = 'completed'
               WHERE id IN (SELECT id FROM bench_step_sample WHERE n <= ${k})`;
  else if (kind === "analysis")
    await sql`WITH gone AS (DELETE FROM call_milestones WHERE call_id IN (SELECT id FROM bench_step_sample WHERE n > ${k} AND n <= ${2 * k}) RETURNING *),
                   kept AS (INSERT INTO bench_step_milestones SELECT * FROM gone)
              INSERT INTO call_milestones (call_id, call_started_at, org_id, key, achieved)
              SELECT DISTINCT call_id, call_started_at, org_id, 'bench', true FROM gone`;
  else if (kind === "recent") {
    const [state] = await sql<{ w: string }[]>`SELECT watermark::text AS w FROM rollup_state`;
    const w = state!.w;
    const recent = (
      await sql`SELECT id FROM calls WHERE started_at >= ${w}::timestamptz - interval '2 hours' AND started_at < ${w}::timestamptz ORDER BY started_at, id`
    ).map((r) => r.id as string);
    for (let i = 0; i < Math.ceil(k / 100); i++) {
      const ids = Array.from({ length: 100 }, (_, j) => recent[(i * 100 + j) % recent.length]!);
      await sql`UPDATE calls SET status = 'completed', duration_sec = coalesce(duration_sec, 0) + 1,
                      lead_score = (coalesce(lead_score, 0) + 7) % 101, credits_used = credits_used + 1 WHERE id = ANY(${ids}::uuid[])`;
    }
  } else if (kind === "deletes") {
    await sql`INSERT INTO bench_step_calls SELECT * FROM calls WHERE id IN (SELECT id FROM bench_step_sample WHERE n > ${2 * k} AND n <= ${3 * k})`;
    await sql`INSERT INTO bench_step_milestones SELECT m.* FROM call_milestones m WHERE m.call_id IN (SELECT id FROM bench_step_calls)`;
    await sql`INSERT INTO bench_step_objections SELECT o.* FROM call_objections o WHERE o.call_id IN (SELECT id FROM bench_step_calls)`;
    await sql`DELETE FROM calls WHERE id IN (SELECT id FROM bench_step_calls)`;
  }
}

/** Puts the changed rows back (`recent` leaves its changes: they only count up). */
async function undo(sql: postgres.Sql) {
  if (kind === "scattered")
    await sql`UPDATE calls c SET lead_score = s.lead_score, status = s.status::call_status FROM bench_step_sample s WHERE s.id = c.id AND s.n <= ${k}`;
  else if (kind === "analysis") {
    await sql`DELETE FROM call_milestones WHERE key = 'bench'`;
    await sql`INSERT INTO call_milestones SELECT * FROM bench_step_milestones`;
    await sql`TRUNCATE bench_step_milestones`;
  } else if (kind === "deletes") {
    await sql`INSERT INTO calls SELECT * FROM bench_step_calls`;
    await sql`INSERT INTO call_milestones SELECT * FROM bench_step_milestones`;
    await sql`INSERT INTO call_objections SELECT * FROM bench_step_objections`;
    await sql`TRUNCATE bench_step_calls, bench_step_milestones, bench_step_objections`;
  }
}

async function settle(sql: postgres.Sql, now: Date) {
  await refresh(sql, now);
  await sql`VACUUM (ANALYZE) call_rollup_15m, call_rollup_hourly, agent_rollup_hourly, agent_rollup_daily, rollup_dirty, rollup_agent_delta`;
}

async function prepare(sql: postgres.Sql) {
  await sql`CREATE TABLE IF NOT EXISTS bench_step_sample (n int, id uuid PRIMARY KEY, lead_score int, status text, started_at timestamptz)`;
  await sql`CREATE TABLE IF NOT EXISTS bench_step_calls (LIKE calls)`;
  await sql`CREATE TABLE IF NOT EXISTS bench_step_milestones (LIKE call_milestones)`;
  await sql`CREATE TABLE IF NOT EXISTS bench_step_objections (LIKE call_objections)`;
  await sql`INSERT INTO bench_step_sample
            SELECT row_number() OVER (ORDER BY hashtext(id::text), id), id, lead_score, status, started_at FROM calls
             WHERE started_at < (SELECT watermark FROM rollup_state) - interval '1 hour' AND NOT EXISTS (SELECT 1 FROM bench_step_sample)
             ORDER BY hashtext(id::text), id LIMIT ${3 * k}`;
  const [last] = await sql<
    { at: string }[]
  >`SELECT (max(started_at) + interval '1 minute')::text AS at FROM calls WHERE started_at < (SELECT watermark FROM rollup_state) + interval '1 hour'`;
  const at = last!.at;
  return new Date(at);
}

/** Every rollup row against the rebuild's GROUP BY (rolled back): the count of rows that differ, and marks left. */
async function compareAllRows(sql: postgres.Sql) {
  let diff: unknown;
  await sql
    .begin(async (tx) => {
      for (const table of ["call_rollup_15m", "call_rollup_hourly", "agent_rollup_hourly", "agent_rollup_daily"]) {
        await tx.unsafe(`CREATE TEMP TABLE before_${table} ON COMMIT DROP AS SELECT * FROM ${table}`);
        await tx.unsafe(`DELETE FROM ${table}`);
      }
      await tx`SELECT * FROM tally_rollup_insert_grouped(NULL, (SELECT built_to FROM rollup_state WHERE id = 1))`;
      const differing = (t: string) =>
        `(SELECT count(*)::int FROM ((SELECT * FROM ${t} EXCEPT ALL SELECT * FROM before_${t}) UNION ALL (SELECT * FROM before_${t} EXCEPT ALL SELECT * FROM ${t})) d)`;
      [diff] = await tx.unsafe(
        `SELECT ${differing("call_rollup_15m")} AS calls, ${differing("call_rollup_hourly")} AS call_hours, ${differing("agent_rollup_hourly")} AS hours,
                ${differing("agent_rollup_daily")} AS days,
                (SELECT count(*)::int FROM rollup_dirty) AS marks`,
      );
      throw new Error("rollback");
    })
    .catch((e: unknown) => {
      if ((e as Error).message !== "rollback") throw e;
    });
  return diff;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = new Map(dbs.map((d) => [d, { ms: [] as number[], cpu: [] as number[] }]));
const nows = new Map<string, Date>();
for (const [d, sql] of conns) {
  nows.set(d, await prepare(sql));
  await settle(sql, nows.get(d)!);
}
for (let trial = 0; trial < Number(values.trials); trial++) {
  for (const d of trial % 2 ? [...dbs].reverse() : dbs) {
    const sql = conns.get(d)!;
    const now = nows.get(d)!;
    await change(sql);
    const [backend] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const pid = backend!.pid;
    await sql`LOAD 'auto_explain'`;
    await sql`SELECT set_config('auto_explain.log_min_duration', '0', false), set_config('auto_explain.log_analyze', 'on', false),
                     set_config('auto_explain.log_timing', 'off', false), set_config('auto_explain.log_buffers', 'on', false),
                     set_config('auto_explain.log_wal', 'on', false), set_config('auto_explain.log_level', 'notice', false)`;
    notices.length = 0;
    const load = loadavg()[0]!;
    const cpu0 = backendCpuMs(pid);
    const { ms, report } = await refresh(sql, now);
    const cpuMs = backendCpuMs(pid) - cpu0;
    await sql`SELECT set_config('auto_explain.log_min_duration', '-1', false)`;
    const floorStarted = performance.now();
    await sql`SELECT 1`;
    const floorMs = performance.now() - floorStarted;
    const plan = notices.find((n) => n.includes("tally_rollup_refresh")) ?? "";
    const wal = /WAL: records=(\d+)(?: fpi=(\d+))? bytes=(\d+)/.exec(plan);
    const buffers = /Buffers: shared hit=(\d+)(?: read=(\d+))?(?: dirtied=(\d+))?/.exec(plan);
    summary.get(d)!.ms.push(ms);
    summary.get(d)!.cpu.push(cpuMs);
    console.log(
      JSON.stringify({
        trial,
        db: d,
        kind,
        refreshMs: Math.round(ms),
        cpuMs,
        walMB: wal ? Number((Number(wal[3]) / 1e6).toFixed(1)) : null,
        walRecords: Number(wal?.[1] ?? 0),
        fullPageImages: Number(wal?.[2] ?? 0),
        buffersHit: Number(buffers?.[1] ?? 0),
        buffersRead: Number(buffers?.[2] ?? 0),
        buffersDirtied: Number(buffers?.[3] ?? 0),
        selectOneMs: Number(floorMs.toFixed(2)),
        load: Number(load.toFixed(1)),
        dirtyMarks: report.dirtyMarks,
        agentDeltas: report.agentDeltas,
        callRollupRows: report.callRollupRows,
        agentRollupRows: report.agentRollupRows,
      }),
    );
    await undo(sql);
    await settle(sql, now);
  }
}
for (const [d, { ms, cpu }] of summary) {
  const range = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  console.log(`${d} ${kind}: refresh median ${Math.round(median(ms))} ms (${range(ms)}), backend CPU median ${median(cpu)} ms (${range(cpu)}), n=${ms.length}`);
  if (values.check) console.log(`${d} every rollup row against the GROUP BY: ${JSON.stringify(await compareAllRows(conns.get(d)!))}`);
}
await Promise.all([...conns.values()].map((c) => c.end()));
