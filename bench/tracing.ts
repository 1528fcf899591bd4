// `npx tsx bench/tracing.ts -- [--base <dir>] [--url postgres://…] [--duration 5] [--rounds 3] [--connections 10]`
//
// What tracing costs a cached read (SPEC §11 "Traces"): the Node entry as `npm start` runs it, each in its own process
// on the same Postgres database, served `GET /api/dashboard/overview?days=7` from its warm cache under autocannon,
// side by side with the floor (a bare Hono route on @hono/node-server in a process of its own):
//   - `base`: the code before tracing (`--base`: a checkout of it whose node_modules is this one's), tracing unset;
//   - `off`: this code, OTEL_EXPORTER_OTLP_ENDPOINT unset;
//   - `on`: this code exporting http/protobuf to a sink in this process (every span exported).
// Rounds rotate the order; the table holds each target's median over the rounds and its ratio to the floor's.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import autocannon from "autocannon";
import { Hono } from "hono";
import postgres from "postgres";
import { load, progress } from "./stats";

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    url: { type: "string", default: "postgres://postgres@127.0.0.1:5432/tally_bench_tracing_wt_otel" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "10" },
    floor: { type: "string" },
  },
  allowPositionals: true,
});

if (args.floor) {
  // the floor's own process: a bare Hono route, nothing else
  const app = new Hono().get("/bare", (c) => c.json({ ok: true }));
  serve({ fetch: app.fetch, port: Number(args.floor), hostname: "127.0.0.1" });
} else {
  await main();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited:\n${output()}`);
    if (
      await fetch(url).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`${url}: no answer within 180 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Target = { name: string; base: string; path: string; headers?: Record<string, string>; child: ChildProcess };
type Sample = { rps: number; p50: number; p99: number; errors: number; statuses: Record<number, number>; load1: number };

async function main() {
  const adminKey = "bench-tracing-admin-key-0123456789";
  const databaseName = new URL(args.url!).pathname.slice(1);
  const adminUrl = new URL(args.url!);
  adminUrl.pathname = "/postgres";
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${databaseName}`;
  if (!exists) await admin.unsafe(`CREATE DATABASE "${databaseName}"`);
  await admin.end();

  let spans = 0;
  const sink = createHttpServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      spans += 1;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

  const children: ChildProcess[] = [];
  const start = async (name: string, cwd: string, argv: string[], env: Record<string, string>, health: string) => {
    const child = spawn(process.execPath, argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    await waitUntilUp(health, child, () => output);
    progress(`${name} is up`);
    return child;
  };
  try {
    const floorPort = await freePort();
    const floorChild = await start(
      "floor",
      process.cwd(),
      ["--import", "tsx", "bench/tracing.ts", "--floor", String(floorPort)],
      {},
      `http://127.0.0.1:${floorPort}/bare`,
    );
    const entries: { name: string; cwd: string; env: Record<string, string> }[] = [
      ...(args.base ? [{ name: "base (before tracing)", cwd: args.base, env: {} }] : []),
      { name: "off (tracing unset)", cwd: process.cwd(), env: {} },
      { name: "on (exporting)", cwd: process.cwd(), env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } },
    ];
    const started: { name: string; base: string; child: ChildProcess }[] = [];
    for (const entry of entries) {
      const port = await freePort();
      const env = {
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_URL: args.url!,
        TALLY_DEMO: "off",
        TALLY_SCHEDULER: "off",
        TALLY_ADMIN_KEY: adminKey,
        TALLY_RATE_LIMIT: "off",
        LOG_LEVEL: "warn",
        ...entry.env,
      };
      // one at a time: each migrates the same database on start (idempotent, under an advisory lock)
      const child = await start(entry.name, entry.cwd, ["--import", "tsx", "functions/entries/node.ts"], env, `http://127.0.0.1:${port}/health`);
      started.push({ name: entry.name, base: `http://127.0.0.1:${port}`, child });
    }

    const created = await fetch(`${started[0]!.base}/api/admin/organizations`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: `bench-tracing-${Date.now()}`, timezone: "UTC" }),
    });
    const orgKey = ((await created.json()) as { data: { apiKey: string } }).data.apiKey;
    const path = "/api/dashboard/overview?days=7";
    const headers = { authorization: `Bearer ${orgKey}` };
    const targets: Target[] = [
      { name: "floor: bare Hono route", base: `http://127.0.0.1:${floorPort}`, path: "/bare", child: floorChild },
      ...started.map((s) => ({ ...s, path, headers })),
    ];
    for (const t of targets) {
      const res = await fetch(t.base + t.path, { headers: t.headers ?? {} });
      if (res.status !== 200) throw new Error(`${t.name}: ${res.status} ${await res.text()}`);
      progress(`${t.name}: warm, cache ${res.headers.get("x-cache") ?? "(no x-cache header)"}`);
    }

    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    const rounds = Number(args.rounds);
    for (let round = 0; round < rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const t of order) {
        const statuses: Record<number, number> = {};
        const result = await new Promise<autocannon.Result>((resolve, reject) => {
          const run = autocannon({
            url: t.base,
            connections: Number(args.connections),
            duration: Number(args.duration),
            requests: [{ method: "GET", path: t.path, ...(t.headers ? { headers: t.headers } : {}) }],
          });
          run.on("response", (_client, status) => void (statuses[status] = (statuses[status] ?? 0) + 1));
          run.on("done", resolve);
          run.on("error", reject);
        });
        const sample = {
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          errors: result.errors,
          statuses,
          load1: load()[0],
        };
        samples.get(t.name)!.push(sample);
        progress(
          `round ${round + 1}/${rounds} ${t.name}: ${sample.rps} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms, statuses ${JSON.stringify(statuses)}`,
        );
      }
    }

    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const otherThan200 = (s: Sample[]) => {
      const counts: Record<string, number> = {};
      for (const x of s) {
        for (const [status, n] of Object.entries(x.statuses)) if (status !== "200") counts[status] = (counts[status] ?? 0) + n;
        if (x.errors) counts.errors = (counts.errors ?? 0) + x.errors;
      }
      return Object.keys(counts).length ? JSON.stringify(counts) : "none";
    };
    const floor = median(samples.get(targets[0]!.name)!.map((s) => s.rps));
    const lines = [
      `| target | req/s (median of ${rounds}) | ÷ floor req/s | p50 / p99 latency (ms, median) | answers other than 200 | load avg (1 min) during its runs |`,
      "|---|---|---|---|---|---|",
    ];
    for (const t of targets) {
      const s = samples.get(t.name)!;
      const rps = median(s.map((x) => x.rps));
      lines.push(
        `| ${t.name} | ${Math.round(rps)} | ${(rps / floor).toFixed(2)} | ${median(s.map((x) => x.p50))} / ${median(s.map((x) => x.p99))} | ${otherThan200(s)} | ${s.map((x) => x.load1).join(", ")} |`,
      );
    }
    process.stdout.write(
      `${lines.join("\n")}\n\n${Number(args.connections)} connections, ${args.duration} s a run, ${rounds} rounds in rotating order; ${spans} export requests reached the sink\n`,
    );
  } finally {
    for (const child of children) child.kill("SIGTERM");
    sink.close();
  }
}
