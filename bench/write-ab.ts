// `npx tsx bench/write-ab.ts --a <url> --b <url> [--a-tree <dir>] [--rounds 5] [--singles 200] [--batch-size 1000]`
//
// The new-call statement (`insertNewCalls`) on two databases of the same data, alternated round by round, so that a
// busy machine weighs on both sides alike (issue #15): for a batch, EXPLAIN (ANALYZE, BUFFERS, WAL) in a transaction
// rolled back (execution, each trigger, buffers, WAL); for single calls, one statement at a time committed as the route
// commits it, prepared or not as the tree's service sends it (wall ms per statement, and the Postgres backend's own
// CPU from /proc: user + system ticks of 10 ms, which other processes' load moves far less than wall time). `--a-tree` renders side A's statement from another
// checkout of the repository (an export of the commit before a change), so a change of the statement is paired too.
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import type { Db } from "../functions/db/database";
import type { CallInput } from "../functions/services/call-ingest";
import { explainRolledBack, newCallSource, renderedInsert } from "./new-calls";
import { cpuMsOf } from "./processes";

const { values: opts } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    "a-tree": { type: "string" },
    rounds: { type: "string", default: "5" },
    singles: { type: "string", default: "200" },
    "batch-size": { type: "string", default: "1000" },
  },
});
if (!opts.a || !opts.b) throw new Error("--a and --b (database URLs) are required");
const rounds = Number(opts.rounds);
const singles = Number(opts.singles);
const batchSize = Number(opts["batch-size"]);

type Insert = (db: Db, orgId: string, items: readonly { index: number; input: CallInput }[], now: Date) => Promise<unknown>;
const here = resolve(import.meta.dirname, "..");
/** A tree's statements: the single route's, and the batch route's (the same one before `insertNewCallIds` existed). */
async function statementsOf(tree: string) {
  const ingest = (await import(join(tree, "functions/services/call-ingest.ts"))) as { insertNewCalls: Insert; insertNewCallIds?: Insert };
  return { single: ingest.insertNewCalls, batch: ingest.insertNewCallIds ?? ingest.insertNewCalls };
}
const insertOf = { a: await statementsOf(opts["a-tree"] ? resolve(opts["a-tree"]) : here), b: await statementsOf(here) };

const newCall = newCallSource("write-ab");

/** The statement one side's route (single or batch) sends for `size` new calls, rendered without running it. */
const statementOf = (side: "a" | "b", orgId: string, size: number, route: "single" | "batch") => renderedInsert(insertOf[side][route], orgId, size, newCall);

const sides = { a: postgres(opts.a, { max: 1, onnotice: () => {} }), b: postgres(opts.b, { max: 1, onnotice: () => {} }) };
const info = {} as Record<"a" | "b", { pid: number; orgId: string }>;
for (const side of ["a", "b"] as const) {
  // the statement's jsonb parameter is JSON text already, as Drizzle's postgres.js driver passes it
  for (const oid of [114, 3802]) sides[side].options.serializers[oid] = (x: unknown) => x as string;
  const [backend] = await sides[side]<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const [org] = await sides[side]<{ id: string }[]>`SELECT id::text FROM organizations ORDER BY id LIMIT 1`;
  await sides[side]`SET jit = off`;
  info[side] = { pid: backend!.pid, orgId: org!.id };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const results: Record<string, unknown>[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const side of round % 2 ? (["a", "b"] as const) : (["b", "a"] as const)) {
    const client = sides[side];
    const { pid, orgId } = info[side];
    // single calls, each its own committed statement (the route's one round trip)
    const walls: number[] = [];
    const cpu0 = cpuMsOf(pid);
    for (let i = 0; i < singles; i++) {
      const { sql: text, params, prepared } = await statementOf(side, orgId, 1, "single");
      const t = performance.now();
      await client.unsafe(text, params as never[], { prepare: prepared });
      walls.push(performance.now() - t);
    }
    const singleCpuUs = ((cpuMsOf(pid) - cpu0) * 1000) / singles;
    // a batch, EXPLAIN ANALYZE rolled back
    const { sql: text, params } = await statementOf(side, orgId, batchSize, "batch");
    const bcpu0 = cpuMsOf(pid);
    const lines = await explainRolledBack(client, text, params);
    const row = {
      round,
      side,
      load: loadavg()[0],
      singleWallMsP50: Math.round(median(walls) * 100) / 100,
      singleBackendCpuUs: Math.round(singleCpuUs),
      batchBackendCpuMs: cpuMsOf(pid) - bcpu0,
      batchExecution: lines.find((l) => l.startsWith("Execution Time")),
      batchBuffers: lines.find((l) => /^ {2}Buffers:/.test(l))?.trim(),
      batchWal: lines.find((l) => /^ {2}WAL:/.test(l))?.trim(),
      batchTriggers: lines.filter((l) => l.startsWith("Trigger")),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
}
await sides.a.end();
await sides.b.end();
