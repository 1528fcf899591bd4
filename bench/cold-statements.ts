// Issue #16 item 1: the one statement of each aggregate route's cache miss, timed on the server, paired between trees.
//
//   npx tsx bench/cold-statements.ts capture --url …/tally_c_cold --out /tmp/after.json
//     the real app (this tree) answers each route once on an empty cache through a handle that records what it sends;
//     the statements (text and parameters) are written to --out, with the instant they were computed for
//   npx tsx bench/cold-statements.ts run --url …/tally_c_cold --rounds 8 /tmp/before.json /tmp/after.json
//     for each route, alternately for the files given (A B, then B A, …; FILE@DATABASE runs a file on another database
//     of the same server, e.g. a copy of the dataset with the other tree's indexes; FILE:prepared sends its statements
//     as named prepared statements, planned once per connection by the server's plan cache): the statement as the app sends it (unnamed,
//     planned each time) 10× on one connection, its wall time (client) and its backend's CPU time (/proc, 10 ms ticks,
//     over the 10); then EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) once for planning, execution and buffers; and
//     `SELECT 1` the same way as the floor. Prints medians and p95 per route and file, and the load average.
//
// Capture a "before" file from another tree by running this script there (`git worktree add` or `git archive` into
// /tmp): the statements hold the window's instants, so capture both with the same --now.
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { createApp } from "../functions/app";
import { memoryDeliveryLedger } from "../functions/cache/delivery-ledger";
import { memoryCache } from "../functions/cache/memory";
import { StatementCounter, type Database } from "../functions/db/database";
import { openPostgres } from "../functions/db/postgres";
import type { Clock } from "../functions/lib/clock";
import { silentLogger } from "../functions/lib/logger";
import { createApiKey } from "../functions/services/organizations";
import { percentile } from "./stats";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: "postgres://postgres@127.0.0.1:5432/tally_c_cold" },
    out: { type: "string" },
    now: { type: "string" },
    rounds: { type: "string", default: "8" },
    repeat: { type: "string", default: "10" },
    only: { type: "string" },
  },
  strict: true,
});
const [mode, ...files] = positionals;

type Captured = { route: string; text: string; params: unknown[] };

class Recorder extends StatementCounter {
  route = "";
  readonly statements: Captured[] = [];
  override logQuery(text = "", params: unknown[] = []): void {
    super.logQuery();
    this.statements.push({ route: this.route, text, params });
  }
}
class Tee extends StatementCounter {
  constructor(
    private readonly app: StatementCounter,
    private readonly recorder: Recorder,
  ) {
    super();
  }
  override logQuery(text = "", params: unknown[] = []): void {
    super.logQuery();
    this.app.logQuery();
    this.recorder.logQuery(text, params);
  }
}

/** An instant `minutes` before `now`, off the whole minute by `seconds` (an explicit window "at any minute"). */
const before = (now: Date, minutes: number, seconds = 0) => new Date(now.getTime() - minutes * 60_000 + seconds * 1000).toISOString();

async function capture() {
  const database = openPostgres({ url: opts.url, max: 2 });
  const now = opts.now ? new Date(opts.now) : new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const client = database.client;
  const clock: Clock = { now: () => now };
  const [org] = await client<{ id: string }[]>`SELECT org_id AS id FROM calls GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`;
  const [agent] = await client<{ id: string }[]>`SELECT agent_id AS id FROM calls WHERE org_id = ${org!.id} AND agent_id IS NOT NULL
                                                 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`;
  const key = await createApiKey(database.db, { orgId: org!.id, scope: "read", name: "bench/cold-statements" });
  const recorder = new Recorder();
  const recording: Database = { ...database, withCounter: (counter) => database.withCounter(new Tee(counter, recorder)) };
  const app = createApp({
    database: recording,
    cache: memoryCache(clock),
    clock: clock,
    logger: silentLogger,
    webhookReplays: memoryDeliveryLedger(clock),
    adminKey: `bench-${crypto.randomUUID()}`,
    rateLimit: false,
  });
  // an explicit window at odd minutes and seconds: 43 days from 13:07:20 to 2 hours 8 minutes before now
  const explicit = `from=${before(now, 43 * 1440 + 7, 20)}&to=${before(now, 128, 40)}`;
  const routes: [string, string][] = [
    ["overview days=30", "/api/dashboard/overview?days=30"],
    ["overview days=90", "/api/dashboard/overview?days=90"],
    ["overview days=30 compare=previous", "/api/dashboard/overview?days=30&compare=previous"],
    ["overview explicit", `/api/dashboard/overview?${explicit}`],
    ["analytics days=30", "/api/dashboard/analytics?days=30"],
    ["analytics days=90", "/api/dashboard/analytics?days=90"],
    ["analytics explicit", `/api/dashboard/analytics?${explicit}`],
    ["agents", "/api/agents"],
    ["variance days=30", "/api/analytics/agent-variance?days=30"],
    ["variance days=90", "/api/analytics/agent-variance?days=90"],
    ["variance explicit", `/api/analytics/agent-variance?${explicit}`],
    ["agent performance days=30", `/api/agents/${agent!.id}/performance?days=30`],
    ["agent performance days=90", `/api/agents/${agent!.id}/performance?days=90`],
    ["agent performance explicit", `/api/agents/${agent!.id}/performance?${explicit}`],
    ["coverage days=7", "/api/coverage?days=7"],
    ["coverage days=30", "/api/coverage?days=30"],
    ["coverage days=90", "/api/coverage?days=90"],
    ["calls first page", "/api/calls?limit=20"],
  ];
  try {
    await app.request("/api/settings", { headers: { authorization: `Bearer ${key.apiKey}` } }); // the key lookup, not recorded
    for (const [route, path] of routes) {
      recorder.route = route;
      const res = await app.request(path, { headers: { authorization: `Bearer ${key.apiKey}` } });
      if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${await res.text()}`);
    }
  } finally {
    await client`DELETE FROM api_keys WHERE id = ${key.id}`;
    await database.close();
  }
  writeFileSync(opts.out!, JSON.stringify({ now: now.toISOString(), statements: recorder.statements }, null, 1));
  console.log(`${recorder.statements.length} statements for ${routes.length} routes at ${now.toISOString()} → ${opts.out}`);
}

const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 ticks a second
};

async function run() {
  // FILE or FILE@DATABASE (a copy of the dataset with the other tree's migrations: a paired index change)
  // FILE…:prepared sends that file's statements as named prepared statements (the server's plan cache), for comparison
  const sources = files.map((f) => {
    const prepared = f.endsWith(":prepared");
    const [file, name] = f.replace(/:prepared$/, "").split("@");
    const url = name ? Object.assign(new URL(opts.url), { pathname: `/${name}` }).toString() : opts.url;
    return { statements: (JSON.parse(readFileSync(file!, "utf8")) as { statements: Captured[] }).statements, url, prepared };
  });
  const sets = sources.map((s) => s.statements);
  // the app's client (its settings, and Drizzle's pass-through of timestamp parameters), one connection per database
  const databases = new Map(sources.map((s) => [s.url, openPostgres({ url: s.url, max: 1 })]));
  const backends = new Map<string, number>();
  for (const [url, database] of databases) backends.set(url, ((await database.client`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }])[0].pid);
  const repeat = Number(opts.repeat);
  const rounds = Number(opts.rounds);
  const floor: Captured = { route: "SELECT 1", text: "SELECT 1", params: [] };
  const routes = [...new Set(sets[0]!.map((s) => s.route))].filter((r) => r !== "" && (!opts.only || r.includes(opts.only)));
  type Sample = { wall: number[]; cpu: number[]; plan: number[]; exec: number[]; buffers: number };
  const results = new Map<string, Sample>();
  const loads: number[] = [];
  // a route's statements run one after the other, as its miss sends them; planning, execution and buffers are summed
  const measure = async (label: string, statements: Captured[], url: string, prepare = false) => {
    const sql = databases.get(url)!.client;
    const pid = backends.get(url)!;
    const s = results.get(label) ?? { wall: [], cpu: [], plan: [], exec: [], buffers: 0 };
    results.set(label, s);
    const cpu0 = cpuMs(pid);
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      for (const statement of statements) await sql.unsafe(statement.text, statement.params as never[], { prepare });
      s.wall.push(performance.now() - t);
    }
    s.cpu.push((cpuMs(pid) - cpu0) / repeat);
    let [planning, execution, buffers] = [0, 0, 0];
    for (const statement of statements) {
      const [row] = (await sql.unsafe(`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ${statement.text}`, statement.params as never[], {
        prepare: false,
      })) as unknown as [
        { "QUERY PLAN": [{ "Planning Time": number; "Execution Time": number; Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number } }] },
      ];
      const plan = row["QUERY PLAN"][0];
      planning += plan["Planning Time"];
      execution += plan["Execution Time"];
      buffers += plan.Plan["Shared Hit Blocks"] + plan.Plan["Shared Read Blocks"];
    }
    s.plan.push(planning);
    s.exec.push(execution);
    s.buffers = buffers;
  };
  for (let round = 0; round < rounds; round++) {
    loads.push(loadavg()[0]!);
    await measure("SELECT 1", [floor], sources[0]!.url);
    for (const route of routes) {
      const order = sets.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      for (const i of order) {
        await measure(
          `${route}\t${i}`,
          sets[i]!.filter((s) => s.route === route),
          sources[i]!.url,
          sources[i]!.prepared,
        );
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} load ${loadavg()[0]}\n`);
  }
  for (const database of databases.values()) await database.close();
  const med = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const p95 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      95,
    );
  const f = (x: number) => x.toFixed(1);
  console.log(
    `files: ${files.map((file, i) => `${i} = ${file}`).join(", ")}; ${rounds} rounds × ${repeat}; load ${f(Math.min(...loads))}–${f(Math.max(...loads))}`,
  );
  console.log("route\tfile\twall p50\twall p95\tbackend CPU/stmt\tplanning\texecution\tbuffers");
  for (const [label, s] of results)
    console.log(
      `${label.includes("\t") ? label : `${label}\t-`}\t${f(med(s.wall))}\t${f(p95(s.wall))}\t${f(med(s.cpu))}\t${f(med(s.plan))}\t${f(med(s.exec))}\t${s.buffers}`,
    );
}

if (mode === "capture" && opts.out) await capture();
else if (mode === "run" && files.length > 0) await run();
else {
  console.error("usage: cold-statements.ts capture --out FILE [--url U] [--now ISO] | run FILE… [--url U] [--rounds N] [--repeat N] [--only ROUTE]");
  process.exit(2);
}
process.exit(0);
