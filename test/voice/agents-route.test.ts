import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Cache } from "../../functions/cache/cache";
import { createNodeSharedCache } from "../../functions/cache/node";
import { ManualClock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import { voiceStoreOver } from "../../functions/voice/cache-store";
import { VOICE_BUDGET_MS } from "../../functions/voice/config-service";
import { deleteByPrefix, REDIS_URL, runPrefix } from "../cache/support";
import { providerAgent, reply, type VoiceProviderFixture } from "../fixtures/voice-provider";
import { createTestApp, type TestApp } from "../support/app";
import { insertAgents, insertCalls } from "../support/fixtures";
import { eventually } from "./helpers";
import { PAST_FRESH_MS, requestCounted, voiceServiceFor, voiceStatuses, startWarmedVoiceProvider } from "./app-voice";

/**
 * GET /api/agents with the voice provider wired in (SPEC §5, §9), over a real local HTTP provider. One app for the file;
 * each test hands it the voice service it needs (`t.deps.voice`: the route reads the dependencies per request).
 */
const NOW = new Date("2026-03-16T15:30:00Z");
/** auth's key lookup + the agents list's one statement (test/routes/agents/statement-budget.test.ts) */
const STATEMENT_BUDGET = 2;
/** The agents list must answer within the voice budget plus this, however the provider behaves (generous: a loaded CI box). */
const WALL_BOUND_MS = 2_000;

let provider: VoiceProviderFixture;
let t: TestApp;
beforeAll(async () => {
  provider = await startWarmedVoiceProvider();
  t = await createTestApp({ clock: new ManualClock(NOW) });
});
afterAll(async () => {
  await t?.close();
  await provider?.close();
});
/** work the route left running past its budget (handed to `waitUntil`); every test waits for its own before the next */
const background: Promise<unknown>[] = [];
afterEach(async () => {
  await Promise.allSettled(background.splice(0));
});
beforeEach(() => {
  provider.setDefault(reply.ok(20));
  provider.setPlanLimit(null);
  provider.resetStats();
  delete t.deps.voice;
  delete t.deps.voiceBudgetMs;
});

/** An organization whose agents (named in list order) carry these voice agent ids (null: none). */
async function orgWithAgents(voiceAgentIds: (string | null)[]) {
  const org = await t.createOrg({ timezone: "America/New_York" });
  const agents = await insertAgents(
    t.database.db,
    org.orgId,
    voiceAgentIds.map((voiceAgentId, i) => ({ name: `Agent ${String(i).padStart(4, "0")}`, voiceAgentId })),
  );
  return { ...org, agents };
}

const ids = (label: string, count: number) => {
  const run = randomUUID().slice(0, 8);
  return Array.from({ length: count }, (_, i) => `${label}-${run}-${String(i).padStart(4, "0")}`);
};

describe("GET /api/agents with a voice provider", () => {
  it("answers every agent's config ok from a healthy provider, none for an agent without a voice id, not partial", async () => {
    t.deps.voice = voiceServiceFor(provider).service;
    // a budget that a 20 ms provider meets even on a loaded machine's first connection; the budget itself is tested below
    t.deps.voiceBudgetMs = 2_000;
    const voiceIds = ids("healthy", 5);
    const org = await orgWithAgents([...voiceIds, null]);
    await insertCalls(t.database.db, org.orgId, [{ agentId: org.agents[0]!.id, startedAt: new Date(NOW.getTime() - 3_600_000) }]);

    const { json, statements, serverTiming } = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(json)).toEqual(["ok", "ok", "ok", "ok", "ok", "none"]);
    expect(json.meta).toMatchObject({ partial: false, cache: "miss" });
    const { agent_id, name, conversation_config: cc } = providerAgent(voiceIds[0]!);
    expect(json.data[0].voice.config).toEqual({
      voiceAgentId: agent_id,
      name,
      voiceId: cc.tts.voice_id,
      ttsModel: cc.tts.model_id,
      language: cc.agent.language,
      firstMessage: cc.agent.first_message,
      llm: cc.agent.prompt.llm,
    });
    expect(json.data[0].performance.calls).toBe(1);
    expect(json.data[5].voice).toEqual({ status: "none", config: null });
    expect(statements, "the voice lookup reads the cache store, not the database").toBeLessThanOrEqual(STATEMENT_BUDGET);
    expect(serverTiming).toContain("voice");
    expect(provider.requests).toBe(5);

    // served from the voice service's own cache: the provider is not asked again while the configs are fresh
    const again = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(again.json)).toEqual(["ok", "ok", "ok", "ok", "ok", "none"]);
    expect(again.json.meta.cache).toBe("hit");
    expect(provider.requests).toBe(5);
  });

  it("answers within its budget with unavailable configs and partial when the provider hangs, then holds the hung agents back", async () => {
    provider.setDefault(reply.hang());
    t.deps.voice = voiceServiceFor(provider).service;
    const org = await orgWithAgents([...ids("hang", 4), null]);

    const { json, elapsedMs, statements } = await requestCounted(t, "/api/agents", org.readKey, background);
    console.log(`[voice] agents list, 5 agents, hanging provider, budget ${VOICE_BUDGET_MS} ms: ${elapsedMs.toFixed(0)} ms`);
    expect(elapsedMs).toBeLessThan(WALL_BOUND_MS);
    expect(voiceStatuses(json)).toEqual(["unavailable", "unavailable", "unavailable", "unavailable", "none"]);
    expect(json.data[0].voice.config).toBeNull();
    expect(json.meta.partial).toBe(true);
    expect(statements).toBeLessThanOrEqual(STATEMENT_BUDGET);
    // the lookups outlive the response (through waitUntil) until their attempts time out
    expect(background).toHaveLength(1);
    await Promise.all(background.splice(0));
    await eventually(() => provider.inFlight === 0);
    // four agents failing are four agents' problem: the circuit stays closed, and each agent waits out its own backoff
    expect(t.deps.voice.breakerState).toBe("closed");
    const requests = provider.requests;
    const again = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(again.json)).toEqual(["unavailable", "unavailable", "unavailable", "unavailable", "none"]);
    expect(again.background, "nothing asked, nothing left running").toHaveLength(0);
    expect(provider.requests).toBe(requests);
  });

  it("answers a cached config past its fresh interval as stale while the provider does not answer", async () => {
    const { service, clock } = voiceServiceFor(provider);
    t.deps.voice = service;
    const voiceIds = ids("stale", 3);
    const org = await orgWithAgents(voiceIds);
    const first = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(first.json)).toEqual(["ok", "ok", "ok"]);

    (clock as ManualClock).advance(PAST_FRESH_MS);
    provider.setDefault(reply.hang());
    const { json, elapsedMs } = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(elapsedMs).toBeLessThan(WALL_BOUND_MS);
    expect(voiceStatuses(json)).toEqual(["stale", "stale", "stale"]);
    expect(json.data[0].voice.config).toMatchObject({ voiceAgentId: voiceIds[0] });
    expect(json.meta.partial).toBe(true);
    // the performance aggregate is still a cache hit: the voice part is attached per request, never frozen inside it
    expect(json.meta.cache).toBe("hit");
  });

  it("answers unavailable without config for a voice agent id the provider does not know", async () => {
    t.deps.voice = voiceServiceFor(provider).service;
    const [known, ghost] = ids("ghost", 2);
    provider.program(ghost!, reply.notFound());
    const org = await orgWithAgents([known!, ghost!]);
    const { json } = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(json.data.map((a: { voice: unknown }) => a.voice)).toEqual([
      { status: "ok", config: expect.objectContaining({ voiceAgentId: known }) },
      { status: "unavailable", config: null },
    ]);
    expect(json.meta.partial).toBe(true);
  });

  it("waits as long as deps.voiceBudgetMs says, and finishes late refreshes through waitUntil", async () => {
    // slower than the first budget, quicker than the client's 1 s attempt timeout
    provider.setDefault(reply.ok(300));
    t.deps.voice = voiceServiceFor(provider).service;
    const org = await orgWithAgents(ids("budget", 2));

    t.deps.voiceBudgetMs = 100;
    const short = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(short.json)).toEqual(["unavailable", "unavailable"]);
    expect(background, "the refreshes outliving the budget were handed to the execution context").toHaveLength(1);

    // they go on after the response and fill the cache
    await Promise.all(background.splice(0));
    const filled = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(filled.json)).toEqual(["ok", "ok"]);
    expect(filled.background, "nothing left running").toHaveLength(0);
    expect(provider.requests, "answered from the cache the late answers filled").toBe(2);

    t.deps.voice = voiceServiceFor(provider).service;
    t.deps.voiceBudgetMs = 3_000;
    const long = await requestCounted(t, "/api/agents", org.readKey, background);
    expect(voiceStatuses(long.json)).toEqual(["ok", "ok"]);
    expect(long.json.meta.partial).toBe(false);
  });

  it("answers 500 agents within the bound and the statement budget when the provider hangs", async () => {
    provider.setDefault(reply.hang());
    t.deps.voice = voiceServiceFor(provider).service;
    const org = await orgWithAgents([...ids("many", 499), null]);

    const { json, elapsedMs, statements } = await requestCounted(t, "/api/agents", org.readKey, background);
    console.log(`[voice] agents list, 500 agents, hanging provider: ${elapsedMs.toFixed(0)} ms, ${statements} statements`);
    expect(json.data).toHaveLength(500);
    expect(elapsedMs).toBeLessThan(WALL_BOUND_MS);
    expect(statements).toBeLessThanOrEqual(STATEMENT_BUDGET);
    expect(new Set(voiceStatuses(json).slice(0, 499))).toEqual(new Set(["unavailable"]));
    expect(json.data[499].voice.status).toBe("none");
    expect(json.meta.partial).toBe(true);
    expect(provider.maxInFlight, "the bulkhead holds while the provider hangs").toBeLessThanOrEqual(5);
    // the hung attempts time out and open the circuit; everything still queued then fails fast
    await Promise.all(background.splice(0));
    expect(t.deps.voice.breakerState).toBe("open");
    expect(provider.requests, "the open circuit spares the provider the other agents").toBeLessThan(50);
    await eventually(() => provider.inFlight === 0);
    // GET /metrics reports the open circuit of the wired voice service
    const metrics = await (await t.app.request("/metrics")).text();
    expect(metrics).toContain('tally_voice_circuit_breaker_state{state="open"} 1');
  });
});

describe("voice state shared by app instances over one Redis", () => {
  const prefix = runPrefix("voice-agents");
  const instances: TestApp[] = [];
  afterAll(async () => {
    for (const instance of instances.reverse()) await instance.close();
    await deleteByPrefix(prefix);
  });

  /** An app instance as the Node entry builds it with REDIS_URL: the cache and the voice service over one store. */
  async function instance() {
    const clock = new ManualClock(NOW);
    const shared = createNodeSharedCache({ store: "redis", url: REDIS_URL, timeoutMs: 1_000, keyPrefix: prefix, clock, logger: silentLogger });
    const { service } = voiceServiceFor(provider, {
      clock,
      store: voiceStoreOver(shared, clock),
      client: { retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } },
    });
    const app = await createTestApp({ clock, database: t.database, cache: (): Cache => shared.cache, voice: service });
    instances.push(app);
    return { app, service };
  }

  it("serves a config one instance fetched to another without asking the provider", async () => {
    const a = await instance();
    const b = await instance();
    const voiceIds = ids("shared-config", 3);
    const org = await orgWithAgents(voiceIds);
    expect(voiceStatuses((await requestCounted(a.app, "/api/agents", org.readKey, background)).json)).toEqual(["ok", "ok", "ok"]);
    expect(provider.requests).toBe(3);

    provider.setDefault(reply.hang());
    const fromB = await requestCounted(b.app, "/api/agents", org.readKey, background);
    expect(voiceStatuses(fromB.json)).toEqual(["ok", "ok", "ok"]);
    expect(fromB.json.data[1].voice.config).toMatchObject({ voiceAgentId: voiceIds[1] });
    expect(provider.requests).toBe(3);
  });

  it("opens the circuit for every instance when one instance's calls fail", async () => {
    const a = await instance();
    const b = await instance();
    provider.setDefault(reply.error(500));
    const org = await orgWithAgents(ids("shared-breaker", 5));

    const fromA = await requestCounted(a.app, "/api/agents", org.readKey, background);
    expect(new Set(voiceStatuses(fromA.json))).toEqual(new Set(["unavailable"]));
    await eventually(() => a.service.breakerState === "open", 5_000);
    expect(b.service.breakerState, "b has not called the provider yet").toBe("closed");

    provider.setDefault(reply.ok());
    provider.resetStats();
    // another organization's agents, which b has never asked for: only the shared circuit holds b back
    const other = await orgWithAgents(ids("shared-breaker-b", 5));
    const fromB = await requestCounted(b.app, "/api/agents", other.readKey, background);
    expect(new Set(voiceStatuses(fromB.json))).toEqual(new Set(["unavailable"]));
    expect(fromB.json.meta.partial).toBe(true);
    expect(b.service.breakerState, "b adopted a's open circuit from Redis").toBe("open");
    expect(provider.requests, "b's calls were refused by the shared open circuit").toBe(0);
  });
});
