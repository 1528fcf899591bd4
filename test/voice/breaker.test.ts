import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { memoryVoiceStore } from "../../functions/voice/store";
import { reply, startVoiceProvider, type VoiceProviderFixture } from "../fixtures/voice-provider";
import { agentIds, clientOf, eventually, failureOf } from "./helpers";

let provider: VoiceProviderFixture;
beforeAll(async () => {
  provider = await startVoiceProvider();
});
afterAll(async () => {
  await provider.close();
});
beforeEach(() => {
  provider.setDefault(reply.notFound());
  provider.resetStats();
  provider.program("bad", reply.error(500));
  provider.program("good", reply.ok());
});

/** cockatiel measures the open interval on the wall clock, so these tests wait it out for real (briefly) */
const HALF_OPEN_MS = 150;
const waitHalfOpen = () => new Promise((resolve) => setTimeout(resolve, HALF_OPEN_MS + 30));

describe("voice client: circuit breaker", () => {
  it("opens after consecutive failures and then refuses calls without reaching the provider", async () => {
    const { client } = clientOf(provider, {
      retry: { maxRetries: 0 },
      breaker: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_MS },
    });
    for (let i = 0; i < 3; i += 1) expect((await failureOf(client.getAgentConfig("bad"))).kind).toBe("server_error");
    expect(client.breakerState).toBe("open");
    expect((await failureOf(client.getAgentConfig("good"))).kind).toBe("circuit_open");
    expect(provider.requestsFor("good")).toBe(0);
  });

  it("counts a call once, by its first attempt, and does not retry while the circuit is open", async () => {
    const { client, delays } = clientOf(provider, { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } });
    // one call: its first attempt counts, its three retries do not
    expect((await failureOf(client.getAgentConfig("bad"))).kind).toBe("server_error");
    expect(provider.requestsFor("bad")).toBe(4);
    expect(client.breakerState).toBe("closed");
    // the next call's first attempt opens the circuit; its first retry is refused and not retried further
    expect((await failureOf(client.getAgentConfig("bad"))).kind).toBe("circuit_open");
    expect(provider.requestsFor("bad")).toBe(5);
    expect(delays).toHaveLength(4);
  });

  it("counts only the successes of an agent the caller knows to be failing, yet lets it probe an open circuit", async () => {
    const { client } = clientOf(provider, { retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 2, halfOpenAfterMs: HALF_OPEN_MS } });
    for (let i = 0; i < 5; i += 1) await failureOf(client.getAgentConfig("bad", { knownFailing: true }));
    expect(provider.requestsFor("bad")).toBe(5);
    expect(client.breakerState, "a known-broken agent opens nothing").toBe("closed");

    await failureOf(client.getAgentConfig("bad"));
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");
    expect((await failureOf(client.getAgentConfig("good", { knownFailing: true }))).kind).toBe("circuit_open");
    // every agent known to be failing, the provider back: such a call is the probe that closes the circuit
    await waitHalfOpen();
    expect(await client.getAgentConfig("good", { knownFailing: true })).toMatchObject({ voiceAgentId: "good" });
    expect(client.breakerState).toBe("closed");
  });

  it("opens on a failure ratio over its window, once it has seen its minimum of calls", async () => {
    provider.program("slow-bad", reply.error(500));
    const { client } = clientOf(provider, { retry: { maxRetries: 0 }, breaker: { failureRatio: 0.5, windowMs: 60_000, minimumCalls: 10 } });
    // 6 answers and 4 failures: 40 % of 10 calls
    for (const id of agentIds("fine", 6)) {
      provider.program(id, reply.ok());
      await client.getAgentConfig(id);
    }
    for (let i = 0; i < 4; i += 1) await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("closed");
    // 5 of 11, 6 of 12 (half is not over half), then 7 of 13
    for (let i = 0; i < 2; i += 1) {
      await failureOf(client.getAgentConfig("bad"));
      expect(client.breakerState).toBe("closed");
    }
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");
    expect((await failureOf(client.getAgentConfig("good"))).kind).toBe("circuit_open");
  });

  it("forgets the answers that have left its window: an outage after a burst of answers and a quiet minute opens it", async () => {
    const { client, clock } = clientOf(provider, { retry: { maxRetries: 0 } });
    for (const id of agentIds("burst", 30)) {
      provider.program(id, reply.ok());
      await client.getAgentConfig(id);
    }
    clock.advance(60_000);
    for (let i = 0; i < 19; i += 1) await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState, "19 calls: below the minimum of 20").toBe("closed");
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");
  });

  it("never opens below its minimum of calls, however they fail", async () => {
    const { client } = clientOf(provider, { retry: { maxRetries: 0 }, breaker: { failureRatio: 0.5, windowMs: 60_000, minimumCalls: 10 } });
    for (let i = 0; i < 9; i += 1) await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("closed");
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");
  });

  it("half-opens after the interval, reopens on a failed probe and closes on a successful one", async () => {
    provider.program("slow-good", reply.ok(80));
    const { client } = clientOf(provider, {
      retry: { maxRetries: 0 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: HALF_OPEN_MS },
    });
    await failureOf(client.getAgentConfig("bad"));
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");

    await waitHalfOpen();
    expect((await failureOf(client.getAgentConfig("bad"))).kind, "the probe reaches the provider").toBe("server_error");
    expect(provider.requestsFor("bad")).toBe(3);
    expect(client.breakerState).toBe("open");
    expect((await failureOf(client.getAgentConfig("good"))).kind).toBe("circuit_open");

    await waitHalfOpen();
    const probe = client.getAgentConfig("slow-good");
    await eventually(() => client.breakerState === "half_open");
    expect(await probe).toMatchObject({ voiceAgentId: "slow-good" });
    expect(client.breakerState).toBe("closed");
    expect(await client.getAgentConfig("good")).toMatchObject({ voiceAgentId: "good" });
  });

  it("rides out a flapping provider through retries without opening", async () => {
    provider.cycle("flapping", reply.error(500), reply.ok());
    const { client } = clientOf(provider, { breaker: { consecutiveFailures: 3 } });
    for (let i = 0; i < 10; i += 1) expect(await client.getAgentConfig("flapping")).toMatchObject({ voiceAgentId: "flapping" });
    expect(provider.requestsFor("flapping")).toBe(20);
    expect(client.breakerState).toBe("closed");
  });

  it("opens on a provider that fails more often than it answers", async () => {
    provider.cycle("mostly-down", reply.error(500), reply.error(500), reply.error(500), reply.ok());
    const { client } = clientOf(provider, { retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 3 } });
    const kinds: string[] = [];
    for (let i = 0; i < 6; i += 1) kinds.push((await failureOf(client.getAgentConfig("mostly-down"))).kind);
    expect(kinds).toEqual(["server_error", "server_error", "server_error", "circuit_open", "circuit_open", "circuit_open"]);
  });
});

describe("voice client: breaker shared through the store", () => {
  it("opens for every instance when one opens it, and closes for all when one probe succeeds", async () => {
    const store = memoryVoiceStore();
    // `a` would stay open for a minute on its own; only `b`'s probe can close it early
    const { client: a } = clientOf(provider, {
      store,
      retry: { maxRetries: 0 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
    });
    const { client: b } = clientOf(provider, {
      store,
      retry: { maxRetries: 0 },
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: HALF_OPEN_MS },
    });

    await failureOf(a.getAgentConfig("bad"));
    await failureOf(a.getAgentConfig("bad"));
    expect(a.breakerState).toBe("open");

    expect((await failureOf(b.getAgentConfig("good"))).kind, "b sees a's open circuit").toBe("circuit_open");
    expect(b.breakerState).toBe("open");
    expect(provider.requestsFor("good")).toBe(0);

    await waitHalfOpen();
    expect((await failureOf(a.getAgentConfig("good"))).kind, "a still waits out its own interval").toBe("circuit_open");
    expect(await b.getAgentConfig("good")).toMatchObject({ voiceAgentId: "good" });
    expect(b.breakerState).toBe("closed");

    expect(await a.getAgentConfig("good"), "a adopts b's closed circuit").toMatchObject({ voiceAgentId: "good" });
    expect(a.breakerState).toBe("closed");
  });

  it("keeps instances on different stores independent", async () => {
    const { client: a } = clientOf(provider, { store: memoryVoiceStore(), retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1 } });
    const { client: b } = clientOf(provider, { store: memoryVoiceStore(), retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1 } });
    await failureOf(a.getAgentConfig("bad"));
    expect(a.breakerState).toBe("open");
    expect(await b.getAgentConfig("good")).toMatchObject({ voiceAgentId: "good" });
  });

  it("keeps working when the store fails", async () => {
    const broken = {
      get: () => Promise.reject(new Error("cache down")),
      getMany: () => Promise.reject(new Error("cache down")),
      set: () => Promise.reject(new Error("cache down")),
    };
    const { client } = clientOf(provider, { store: broken, retry: { maxRetries: 0 }, breaker: { consecutiveFailures: 1 } });
    expect(await client.getAgentConfig("good")).toMatchObject({ voiceAgentId: "good" });
    await failureOf(client.getAgentConfig("bad"));
    expect(client.breakerState).toBe("open");
  });
});
