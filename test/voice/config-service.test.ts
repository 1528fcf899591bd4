import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createVoiceConfigService, type VoiceConfigService } from "../../functions/voice/config-service";
import { memoryVoiceStore } from "../../functions/voice/store";
import { reply, startVoiceProvider, type VoiceProviderFixture } from "../fixtures/voice-provider";
import { agentIds, clientOf, eventually, type TestClient } from "./helpers";

let provider: VoiceProviderFixture;
beforeAll(async () => {
  provider = await startVoiceProvider();
});
afterAll(async () => {
  await provider.close();
});
beforeEach(() => {
  provider.setDefault(reply.ok());
  provider.setPlanLimit(null);
  provider.resetStats();
});

const ELEVEN_MINUTES = 11 * 60 * 1000;
/** for tests about something else than the budget: a quick provider meets it even on a heavily loaded machine */
const AMPLE = { budgetMs: 10_000 };

function serviceOf(clientOptions: Parameters<typeof clientOf>[1] = {}): TestClient & { service: VoiceConfigService } {
  const test = clientOf(provider, clientOptions);
  const service = createVoiceConfigService({ client: test.client, store: memoryVoiceStore(test.clock), clock: test.clock });
  return { ...test, service };
}

/** the organization asking, unless a test is about organizations */
const ORG = "org-1";
const refs = (ids: string[], orgId = ORG) => ids.map((voiceAgentId) => ({ orgId, voiceAgentId }));

const statuses = (answer: { configs: { status: string }[] }) => answer.configs.map((c) => c.status);

describe("getVoiceConfigs", () => {
  it("answers every agent ok from a healthy provider, calling it once per agent under the bulkhead", async () => {
    provider.setDefault(reply.ok(1));
    const { service } = serviceOf({ concurrency: { limit: 5 } });
    const ids = agentIds("healthy", 500);
    const answer = await service.getVoiceConfigs(ORG, ids, { budgetMs: 10_000 });
    expect(new Set(statuses(answer))).toEqual(new Set(["ok"]));
    expect(answer.partial).toBe(false);
    expect(answer.configs.map((c) => c.config?.voiceAgentId)).toEqual(ids);
    expect(provider.requests).toBe(500);
    expect(provider.maxInFlight).toBeLessThanOrEqual(5);
  });

  it("answers ok within the default budget when the provider is quick", async () => {
    provider.setDefault(reply.ok(5));
    const { service } = serviceOf();
    const answer = await service.getVoiceConfigs(ORG, agentIds("quick", 20));
    expect(new Set(statuses(answer))).toEqual(new Set(["ok"]));
  });

  it("answers none for agents without a voice agent id and not_found for ids the provider does not know", async () => {
    provider.program("ghost", reply.notFound());
    const { service } = serviceOf();
    const answer = await service.getVoiceConfigs(ORG, [null, "known", "ghost", null], AMPLE);
    expect(statuses(answer)).toEqual(["none", "ok", "not_found", "none"]);
    expect(answer.configs.map((c) => c.voiceAgentId)).toEqual([null, "known", "ghost", null]);
    expect(answer.partial).toBe(false);
  });

  it("asks the provider once for an id listed twice", async () => {
    const { service } = serviceOf();
    const answer = await service.getVoiceConfigs(ORG, ["twice", "twice"], AMPLE);
    expect(statuses(answer)).toEqual(["ok", "ok"]);
    expect(provider.requestsFor("twice")).toBe(1);
  });

  it("serves cached configs without the provider while fresh, and asks again after ten minutes", async () => {
    const { service, clock } = serviceOf();
    const ids = agentIds("cached", 10);
    await service.getVoiceConfigs(ORG, ids, AMPLE);
    expect(provider.requests).toBe(10);

    clock.advance(9 * 60 * 1000);
    const fresh = await service.getVoiceConfigs(ORG, ids, AMPLE);
    expect(new Set(statuses(fresh))).toEqual(new Set(["ok"]));
    expect(provider.requests).toBe(10);

    clock.advance(2 * 60 * 1000);
    const refreshed = await service.getVoiceConfigs(ORG, ids, AMPLE);
    expect(new Set(statuses(refreshed))).toEqual(new Set(["ok"]));
    expect(provider.requests).toBe(20);
    expect(refreshed.configs[0]!.fetchedAt).toBe(clock.now().toISOString());
  });

  it("answers stale cached configs when the provider fails", async () => {
    const { service, clock } = serviceOf({ retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1000 } });
    await service.getVoiceConfigs(ORG, ["down-1", "down-2"], AMPLE);
    const cachedAt = clock.now().toISOString();
    clock.advance(ELEVEN_MINUTES);
    provider.setDefault(reply.error(500));
    const answer = await service.getVoiceConfigs(ORG, ["down-1", "down-2", "down-3"], AMPLE);
    expect(statuses(answer)).toEqual(["stale", "stale", "unavailable"]);
    expect(answer.configs[0]).toMatchObject({ config: { voiceAgentId: "down-1" }, fetchedAt: cachedAt });
    expect(answer.configs[2]).toMatchObject({ config: null, fetchedAt: null });
    expect(answer.partial).toBe(true);
  });

  it("remembers a failing agent with its own backoff, answering its last good config stale meanwhile", async () => {
    const { service, clock } = serviceOf({ retry: { maxRetries: 0 } });
    const [healthy, broken] = ["isolated-healthy", "isolated-broken"];
    await service.getVoiceConfigs(ORG, [healthy, broken], AMPLE);
    const cachedAt = clock.now().toISOString();
    clock.advance(ELEVEN_MINUTES);
    provider.program(broken, reply.error(500));

    const first = await service.getVoiceConfigs(ORG, [healthy, broken], AMPLE);
    expect(statuses(first)).toEqual(["ok", "stale"]);
    expect(first.configs[1]).toMatchObject({ config: { voiceAgentId: broken }, fetchedAt: cachedAt });
    expect(provider.requestsFor(broken)).toBe(2);

    // within its backoff (30 s, then 1, 2 … minutes) it is not asked, and answers at once
    const asked = () => provider.requestsFor(broken);
    clock.advance(29_000);
    expect(statuses(await service.getVoiceConfigs(ORG, [healthy, broken], { budgetMs: 0 }))).toEqual(["ok", "stale"]);
    expect(asked()).toBe(2);
    clock.advance(1_000);
    await service.getVoiceConfigs(ORG, [broken], AMPLE);
    expect(asked(), "asked again once its 30 s ran out").toBe(3);
    clock.advance(59_000);
    await service.getVoiceConfigs(ORG, [broken], AMPLE);
    expect(asked(), "then after a minute").toBe(3);
    clock.advance(1_000);
    await service.getVoiceConfigs(ORG, [broken], AMPLE);
    expect(asked()).toBe(4);

    // it recovers: ok again, and asked as every other agent from then on
    provider.program(broken, reply.ok());
    clock.advance(2 * 60_000);
    const recovered = await service.getVoiceConfigs(ORG, [healthy, broken], AMPLE);
    expect(statuses(recovered)).toEqual(["ok", "ok"]);
    expect(recovered.configs[1]!.fetchedAt).toBe(clock.now().toISOString());
  });

  it("answers 500 agents within the budget when the provider hangs, with stale or unavailable configs", async () => {
    // every backoff sleep here moves the one manual clock by its delay, so with five lookups at a time the clock runs
    // ahead of the wall several times over: a 5-minute window holds the failures a 10-second one holds in production
    const { service, client, clock } = serviceOf({ timeoutMs: 1_000, breaker: { windowMs: 5 * 60_000 } });
    const ids = agentIds("hang", 500);
    const cachedIds = ids.slice(0, 100);
    expect((await service.warmVoiceConfigs(refs(cachedIds))).refreshed).toBe(100);
    clock.advance(ELEVEN_MINUTES);
    provider.setDefault(reply.hang());
    provider.resetStats();

    const background: Promise<unknown>[] = [];
    let settled = 0;
    const started = performance.now();
    const answer = await service.getVoiceConfigs(ORG, ids, {
      budgetMs: 300,
      waitUntil: (p) => {
        background.push(p);
        p.finally(() => {
          settled += 1;
        }).catch(() => {});
      },
    });
    const elapsed = performance.now() - started;
    console.log(`[voice] 500 agents, hanging provider, budget 300 ms: answered in ${elapsed.toFixed(1)} ms`);

    // the budget answered, not the provider: its calls (1 s client timeout) were handed on to waitUntil still running
    expect(background.length, "refreshes handed to waitUntil").toBeGreaterThan(0);
    expect(settled, "provider calls settled before the answer").toBe(0);
    expect(statuses(answer).slice(0, 100)).toEqual(Array(100).fill("stale"));
    expect(statuses(answer).slice(100)).toEqual(Array(400).fill("unavailable"));
    expect(answer.configs[0]!.config).toMatchObject({ voiceAgentId: "hang-0" });
    expect(answer.partial).toBe(true);
    expect(provider.maxInFlight, "the bulkhead holds while the provider hangs").toBeLessThanOrEqual(5);

    // the hung attempts time out, the breaker opens, and everything still queued fails fast
    expect(background).toHaveLength(1);
    await background[0];
    expect(client.breakerState).toBe("open");
    expect(provider.requests, "the open circuit spares the provider the other agents").toBeLessThan(50);
    await eventually(() => provider.inFlight === 0);
  });

  it("fills the cache in the background when the provider answers after the budget", async () => {
    provider.setDefault(reply.ok(300));
    const { service } = serviceOf();
    const ids = agentIds("late", 3);
    const background: Promise<unknown>[] = [];
    const late = await service.getVoiceConfigs(ORG, ids, { budgetMs: 50, waitUntil: (p) => background.push(p) });
    expect(statuses(late)).toEqual(["unavailable", "unavailable", "unavailable"]);
    expect(late.partial).toBe(true);

    await Promise.all(background);
    const requests = provider.requests;
    const filled = await service.getVoiceConfigs(ORG, ids, { budgetMs: 50 });
    expect(statuses(filled)).toEqual(["ok", "ok", "ok"]);
    expect(provider.requests, "served from the cache").toBe(requests);
  });

  it("does not wait for a lookup another request started and already waited its budget for", async () => {
    provider.setDefault(reply.hang());
    const { service } = serviceOf({ timeoutMs: 1_000, retry: { maxRetries: 0 } });
    const background: Promise<unknown>[] = [];
    // the lookup hangs until its 1 s timeout, far past the first request's 250 ms budget (ample to start it, even on a
    // loaded machine: a lookup the first request had not yet started is one the second would rightly wait for)
    let lookupEnded = false;
    const first = await service.getVoiceConfigs(ORG, ["held-up"], {
      budgetMs: 250,
      waitUntil: (p) => {
        background.push(
          p.finally(() => {
            lookupEnded = true;
          }),
        );
      },
    });
    expect(statuses(first)).toEqual(["unavailable"]);
    const second = await service.getVoiceConfigs(ORG, ["held-up"], { budgetMs: 5_000 });
    expect(statuses(second)).toEqual(["unavailable"]);
    // answered while the hung lookup was still running: it waited neither for that lookup nor its own 5 s budget
    expect(lookupEnded).toBe(false);
    await Promise.all(background);
    expect(provider.requestsFor("held-up")).toBe(1);
  });

  it("does not ask waitUntil for anything when every answer came in time", async () => {
    const { service } = serviceOf();
    const background: Promise<unknown>[] = [];
    await service.getVoiceConfigs(ORG, agentIds("in-time", 3), { ...AMPLE, waitUntil: (p) => background.push(p) });
    expect(background).toEqual([]);
  });

  it("answers without failing when the config cache fails", async () => {
    const { client, clock } = clientOf(provider);
    const broken = {
      get: () => Promise.reject(new Error("cache down")),
      getMany: () => Promise.reject(new Error("cache down")),
      set: () => Promise.reject(new Error("cache down")),
    };
    const service = createVoiceConfigService({ client, store: broken, clock });
    const answer = await service.getVoiceConfigs(ORG, ["a", null], AMPLE);
    expect(statuses(answer)).toEqual(["ok", "none"]);
  });

  it("scopes cached configs to the provider account", async () => {
    const { client, clock } = clientOf(provider);
    const store = memoryVoiceStore(clock);
    const mine = createVoiceConfigService({ client, store, clock, account: "org-a" });
    const theirs = createVoiceConfigService({ client, store, clock, account: "org-b" });
    await mine.getVoiceConfigs(ORG, ["shared-id"]);
    await theirs.getVoiceConfigs(ORG, ["shared-id"]);
    expect(provider.requestsFor("shared-id")).toBe(2);
  });

  it("keeps each organization's cached configs to itself: another organization naming the id asks the provider anew", async () => {
    const { service } = serviceOf();
    expect(statuses(await service.getVoiceConfigs("org-a", ["tenant-id"], AMPLE))).toEqual(["ok"]);
    // org-b's lookup finds nothing of org-a's in the cache, and a provider gone silent leaves it without config
    provider.setDefault(reply.hang());
    const theirs = await service.getVoiceConfigs("org-b", ["tenant-id"], { budgetMs: 50 });
    expect(theirs.configs[0]).toMatchObject({ status: "unavailable", config: null });
    expect(statuses(await service.getVoiceConfigs("org-a", ["tenant-id"], { budgetMs: 50 }))).toEqual(["ok"]);
    // the warm job fills each organization's entry for its own agent
    provider.setDefault(reply.ok());
    await service.warmVoiceConfigs(refs(["tenant-id"], "org-b"));
    expect(statuses(await service.getVoiceConfigs("org-b", ["tenant-id"], { budgetMs: 50 }))).toEqual(["ok"]);
  });
});

describe("warmVoiceConfigs", () => {
  it("refreshes configs even when fresh and reports what it did", async () => {
    provider.program("warm-ghost", reply.notFound());
    provider.program("warm-broken", reply.error(500));
    const { service } = serviceOf({ retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1000 } });
    await service.getVoiceConfigs(ORG, ["warm-1"]);

    const report = await service.warmVoiceConfigs(refs(["warm-1", "warm-2", "warm-ghost", "warm-broken", "warm-1"]));
    expect(report).toMatchObject({ requested: 4, refreshed: 2, notFound: 1, failed: 1, breaker: "closed" });
    expect(provider.requestsFor("warm-1")).toBe(2);

    provider.setDefault(reply.hang());
    const answer = await service.getVoiceConfigs(ORG, ["warm-1", "warm-2", "warm-ghost"]);
    expect(statuses(answer)).toEqual(["ok", "ok", "not_found"]);
  });
});
