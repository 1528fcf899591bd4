// Measures GET /api/agents with the voice provider wired in (SPEC §5, §9): the list must never wait for the provider
// past its latency budget (300 ms).
//
//   npx tsx bench/voice-agents.ts [--agents 50] [--requests 200] [--warmup 20] [--latency 20] [--url postgres://...]
//                                 [--mix-seconds 40] [--only healthy,hang,half,mix] [--json out.json]
//
// One process: the app on a real HTTP server (@hono/node-server on 127.0.0.1), the fixture provider
// (test/fixtures/voice-provider.ts, a real local HTTP server) and a client sending sequential requests with fetch
// (one in flight at a time), timing each from send to the last body byte. Percentiles are nearest-rank over the raw
// samples. The database is an in-memory PGlite unless --url names a Postgres (a scratch database is created and dropped).
//
// Provider scenarios: healthy (answers after --latency ms), hang (accepts and never answers), half (every agent's
// requests alternate 500 and a healthy answer, both after --latency ms; every other agent starts with the answer). Each
// runs in two modes:
// - cached: the production settings (configs fresh for 10 minutes), the steady state the warm-voice-configs job keeps;
// - uncached: fresh interval 0, so every request asks the provider for every agent (the moment configs expire).
// Each run starts with a new voice service and app (client policies at their production defaults: 2 s attempt
// timeout, retries after 1/2/4 s, 5 concurrent requests, breaker on over 3 in 4 of at least 20 calls in 10 s,
// half-open after 10 s), warms up with a healthy provider (filling the aggregate and voice caches), then switches the
// provider to the scenario and measures.
//
// mix (issue #17): another organization's 40 agents, of which 10 answer after 20 ms, 6 after 1.5 s, 6 never, 6 with
// 500, 6 with 429 system_busy, 3 with 404 and 3 have no voice agent id. No healthy warm-up: the warm-voice-configs
// job's call runs once over the mix (its duration and outcome are reported), then agents lists are sent one after
// another for --mix-seconds (past the 30 s backoff of the failing agents, so the measure includes the lists that
// ask them again in the background).
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { serve } from "@hono/node-server";
import postgres from "postgres";
import { agents } from "../drizzle/schema";
import { createApp } from "../functions/app";
import { memoryCache } from "../functions/cache/memory";
import type { Database } from "../functions/db/database";
import { migrate } from "../functions/db/migrate";
import { openPglite } from "../functions/db/pglite";
import { openPostgres } from "../functions/db/postgres";
import { systemClock } from "../functions/lib/clock";
import { silentLogger } from "../functions/lib/logger";
import { createApiKey, createOrganization } from "../functions/services/organizations";
import { VOICE_BUDGET_MS } from "../functions/voice/config-service";
import { createVoiceService } from "../functions/voice/service";
import { memoryVoiceStore } from "../functions/voice/store";
import { reply, startVoiceProvider, type VoiceProviderFixture } from "../test/fixtures/voice-provider";
import type { App } from "../functions/hono/env";
import { memoryDeliveryLedger } from "../functions/cache/delivery-ledger";

const { values: args } = parseArgs({
  options: {
    agents: { type: "string", default: "50" },
    requests: { type: "string", default: "200" },
    warmup: { type: "string", default: "20" },
    latency: { type: "string", default: "20" },
    url: { type: "string" },
    json: { type: "string" },
    "mix-seconds": { type: "string", default: "40" },
    only: { type: "string" },
  },
});
const ONLY = args.only ? new Set(args.only.split(",")) : null;
const MIX_SECONDS = Number(args["mix-seconds"]);
const AGENTS = Number(args.agents);
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const LATENCY_MS = Number(args.latency);

type Scenario = "healthy" | "hang" | "half";
type Mode = "cached" | "uncached";

async function openDatabase(): Promise<{ database: Database; drop(): Promise<void> }> {
  if (!args.url) {
    const database = await openPglite();
    return { database, drop: () => database.close() };
  }
  const name = `tally_bench_voice_${process.pid}`;
  const admin = postgres(Object.assign(new URL(args.url), { pathname: "/postgres" }).toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const database = openPostgres({ url: Object.assign(new URL(args.url), { pathname: `/${name}` }).toString() });
  return {
    database,
    drop: async () => {
      await database.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (ms: number) => Math.round(ms * 10) / 10;

/** Nearest-rank percentiles of one run's samples (ms), how many passed the budget, and the share answered partial. */
function latencySummary(samples: number[], partial: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    requests: samples.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1)!),
    mean: round(samples.reduce((s, x) => s + x, 0) / samples.length),
    overBudget: samples.filter((ms) => ms > VOICE_BUDGET_MS).length,
    partialShare: round((partial / samples.length) * 100) / 100,
  };
}

function setScenario(provider: VoiceProviderFixture, scenario: Scenario, voiceIds: string[]) {
  provider.setDefault(scenario === "hang" ? reply.hang() : reply.ok(LATENCY_MS));
  voiceIds.forEach((id, i) => {
    // half the agents start with a failure, half with an answer, so failures are not all in step across agents
    if (scenario === "half" && i % 2 === 0) provider.cycle(id, reply.error(500, LATENCY_MS), reply.ok(LATENCY_MS));
    else if (scenario === "half") provider.cycle(id, reply.ok(LATENCY_MS), reply.error(500, LATENCY_MS));
    else if (scenario === "hang") provider.program(id, reply.hang());
    else provider.program(id, reply.ok(LATENCY_MS));
  });
}

type MixGroup = "healthy" | "slow" | "hang" | "error" | "busy" | "ghost";
const MIX: [MixGroup, number, () => ReturnType<typeof reply.ok>][] = [
  ["healthy", 10, () => reply.ok(20)],
  ["slow", 6, () => reply.ok(1_500)],
  ["hang", 6, () => reply.hang()],
  ["error", 6, () => reply.error(500)],
  ["busy", 6, () => reply.systemBusy()],
  ["ghost", 3, () => reply.notFound()],
];

/** The issue #17 mix: one warm-up through the job's call, then agents lists for MIX_SECONDS; answers the run's figures. */
async function runMix(database: Database, provider: VoiceProviderFixture, serveApp: (app: App) => void) {
  const { organization } = await createOrganization(database.db, { name: "Voice mix", timezone: "America/New_York" });
  const { apiKey } = await createApiKey(database.db, { orgId: organization.id, scope: "read", name: "bench" });
  const groupOf = new Map<string, MixGroup>();
  const rowsToInsert: { orgId: string; name: string; status: "active"; voiceAgentId: string | null }[] = [];
  for (const [group, count, answer] of MIX) {
    for (let i = 0; i < count; i += 1) {
      const id = `mix-${process.pid}-${group}-${i}`;
      provider.program(id, answer());
      groupOf.set(id, group);
      rowsToInsert.push({ orgId: organization.id, name: `${group} ${id}`, status: "active", voiceAgentId: id });
    }
  }
  for (let i = 0; i < 3; i += 1) rowsToInsert.push({ orgId: organization.id, name: `zz none ${i}`, status: "active", voiceAgentId: null });
  await database.db.insert(agents).values(rowsToInsert);

  const voice = createVoiceService({
    baseUrl: provider.url,
    apiKey: provider.apiKey,
    store: memoryVoiceStore(systemClock),
    clock: systemClock,
    logger: silentLogger,
  });
  // one client sending lists back to back for longer than a minute: over the per-key limit (600 a minute) of a real key
  serveApp(
    createApp({
      database,
      cache: memoryCache(systemClock),
      clock: systemClock,
      logger: silentLogger,
      webhookReplays: memoryDeliveryLedger(systemClock),
      voice,
      rateLimit: false,
    }),
  );
  provider.resetStats();
  const warm = await voice.warmVoiceConfigs([...groupOf.keys()].map((voiceAgentId) => ({ orgId: organization.id, voiceAgentId })));

  const samples: number[] = [];
  let last: { name: string; voice: { status: string } }[] = [];
  let partial = 0;
  const started = performance.now();
  while (performance.now() - started < MIX_SECONDS * 1000) {
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}/api/agents`, { headers: { authorization: `Bearer ${apiKey}` } });
    const json = (await res.json()) as { data: { name: string; voice: { status: string } }[]; meta: { partial: boolean } };
    samples.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET /api/agents answered ${res.status}: ${JSON.stringify(json)}`);
    last = json.data;
    if (json.meta.partial) partial += 1;
  }
  // the last list's statuses per group, e.g. { healthy: { ok: 10 }, hang: { unavailable: 6 } }
  const byGroup: Record<string, Record<string, number>> = {};
  for (const agent of last) {
    const group = groupOf.get(agent.name.split(" ").pop()!) ?? "none";
    byGroup[group] ??= {};
    byGroup[group]![agent.voice.status] = (byGroup[group]![agent.voice.status] ?? 0) + 1;
  }
  const result = {
    mode: "mix",
    scenario: "mix",
    ...latencySummary(samples, partial),
    warm: { ...warm, durationMs: round(warm.durationMs) },
    lastStatusesByGroup: byGroup,
    busyAskedTimes: [...groupOf].filter(([, g]) => g === "busy").map(([id]) => provider.requestsFor(id)),
    providerRequests: provider.requests,
    breaker: voice.breakerState,
    wallSec: round((performance.now() - started) / 1000),
  };
  return { result, mixOrg: organization.id };
}

let baseUrl = "";

async function main() {
  const { database, drop } = await openDatabase();
  await migrate(database, systemClock.now());
  const { organization } = await createOrganization(database.db, { name: "Voice bench", timezone: "America/New_York" });
  const { apiKey: readKey } = await createApiKey(database.db, { orgId: organization.id, scope: "read", name: "bench" });
  const voiceIds = Array.from({ length: AGENTS }, (_, i) => `bench-agent-${String(i).padStart(3, "0")}`);
  await database.db
    .insert(agents)
    .values(
      voiceIds.map((voiceAgentId, i) => ({ orgId: organization.id, name: `Agent ${String(i).padStart(3, "0")}`, status: "active" as const, voiceAgentId })),
    );

  const provider = await startVoiceProvider();
  let current: App | undefined;
  const server = serve({ fetch: (request) => current!.fetch(request), port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  baseUrl = base;

  async function once(): Promise<{ ms: number; partial: boolean; statuses: string[] }> {
    const started = performance.now();
    const res = await fetch(`${base}/api/agents`, { headers: { authorization: `Bearer ${readKey}` } });
    const json = (await res.json()) as { data: { voice: { status: string } }[]; meta: { partial: boolean } };
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`GET /api/agents answered ${res.status}: ${JSON.stringify(json)}`);
    return { ms, partial: json.meta.partial, statuses: json.data.map((a) => a.voice.status) };
  }

  const results: Record<string, unknown>[] = [];
  for (const mode of ["cached", "uncached"] as Mode[]) {
    for (const scenario of ["healthy", "hang", "half"] as Scenario[]) {
      if (ONLY && !ONLY.has(scenario)) continue;
      const voice = createVoiceService({
        baseUrl: provider.url,
        apiKey: provider.apiKey,
        store: memoryVoiceStore(systemClock),
        clock: systemClock,
        logger: silentLogger,
        ...(mode === "uncached" ? { freshMs: 0 } : {}),
      });
      current = createApp({
        database,
        cache: memoryCache(systemClock),
        clock: systemClock,
        logger: silentLogger,
        webhookReplays: memoryDeliveryLedger(systemClock),
        voice,
      });
      setScenario(provider, "healthy", voiceIds);
      for (let i = 0; i < WARMUP; i += 1) await once();
      setScenario(provider, scenario, voiceIds);
      provider.resetStats();

      const samples: number[] = [];
      let partial = 0;
      const statusCounts: Record<string, number> = {};
      const runStarted = performance.now();
      for (let i = 0; i < REQUESTS; i += 1) {
        const r = await once();
        samples.push(r.ms);
        if (r.partial) partial += 1;
        for (const s of r.statuses) statusCounts[s] = (statusCounts[s] ?? 0) + 1;
      }
      const wallMs = performance.now() - runStarted;
      const result = {
        mode,
        scenario,
        ...latencySummary(samples, partial),
        statuses: statusCounts,
        providerRequests: provider.requests,
        breaker: voice.breakerState,
        wallSec: round(wallMs / 1000),
      };
      results.push(result);
      console.log(JSON.stringify(result));
      // let the run's background refreshes end (hung attempts time out after 2 s) before the next run measures
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    }
  }

  if (!ONLY || ONLY.has("mix")) {
    const { result, mixOrg } = await runMix(database, provider, (app) => (current = app));
    results.push(result);
    console.log(JSON.stringify({ ...result, org: mixOrg }));
  }

  const header = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((l) => Math.round(l * 100) / 100), node: process.version },
    database: database.kind,
    agents: AGENTS,
    requestsPerRun: REQUESTS,
    warmupPerRun: WARMUP,
    fixtureLatencyMs: LATENCY_MS,
    budgetMs: VOICE_BUDGET_MS,
  };
  console.log(JSON.stringify(header));
  console.log("\nmode      scenario  p50 ms  p95 ms  p99 ms  max ms  >budget  partial  provider reqs  breaker");
  for (const r of results as Array<Record<string, number | string>>) {
    console.log(
      [
        String(r.mode).padEnd(9),
        String(r.scenario).padEnd(8),
        String(r.p50).padStart(7),
        String(r.p95).padStart(7),
        String(r.p99).padStart(7),
        String(r.max).padStart(7),
        String(r.overBudget).padStart(8),
        String(r.partialShare).padStart(8),
        String(r.providerRequests).padStart(14),
        ` ${r.breaker}`,
      ].join(" "),
    );
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ ...header, results }, null, 2));

  server.close();
  await provider.close();
  await drop();
}

await main();
