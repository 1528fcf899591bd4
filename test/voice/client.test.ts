import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { providerAgent, reply, startVoiceProvider, type VoiceProviderFixture } from "../fixtures/voice-provider";
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
  provider.setPlanLimit(null);
  provider.resetStats();
});

/** a breaker that never opens, for tests about everything else */
const noBreaker = { consecutiveFailures: 10_000 };

describe("voice client: requests", () => {
  it("answers the agent's config read with the xi-api-key header", async () => {
    provider.program("agent-ok", reply.ok());
    const { client } = clientOf(provider);
    const config = await client.getAgentConfig("agent-ok");
    const expected = providerAgent("agent-ok");
    expect(config).toEqual({
      voiceAgentId: "agent-ok",
      name: expected.name,
      voiceId: expected.conversation_config.tts.voice_id,
      ttsModel: expected.conversation_config.tts.model_id,
      language: "en",
      firstMessage: expected.conversation_config.agent.first_message,
      llm: expected.conversation_config.agent.prompt.llm,
    });
  });

  it("answers null for an agent the provider does not know, without retrying or counting a breaker failure", async () => {
    const { client } = clientOf(provider, { breaker: { consecutiveFailures: 2 } });
    for (let i = 0; i < 5; i += 1) expect(await client.getAgentConfig("ghost")).toBeNull();
    expect(provider.requestsFor("ghost")).toBe(5);
    expect(client.breakerState).toBe("closed");
  });

  it("fails a malformed JSON answer as malformed_response, retried and counted by the breaker once per call", async () => {
    provider.program("garbled", reply.malformed());
    const { client } = clientOf(provider, { retry: { maxRetries: 1 }, breaker: { consecutiveFailures: 2 } });
    const failure = await failureOf(client.getAgentConfig("garbled"));
    expect(failure.kind).toBe("malformed_response");
    expect(provider.requestsFor("garbled")).toBe(2);
    expect(client.breakerState, "the retry's failure is not counted").toBe("closed");
    await failureOf(client.getAgentConfig("garbled"));
    expect(client.breakerState).toBe("open");
  });

  it("refuses an id that is no voice agent id (SPEC §11) as client_error without sending it", async () => {
    provider.setDefault(reply.ok());
    const { client } = clientOf(provider, { breaker: { consecutiveFailures: 1 } });
    for (const id of ["..", "../../v1/user", "a/b", "a?b", "", "x".repeat(129)]) {
      expect((await failureOf(client.getAgentConfig(id))).kind, id).toBe("client_error");
    }
    expect(provider.requests).toBe(0);
    expect(client.breakerState).toBe("closed");
  });

  it("fails a wrong API key as client_error, neither retried nor counted by the breaker", async () => {
    provider.program("agent-ok", reply.ok());
    const { client } = clientOf(provider, { apiKey: "wrong", breaker: { consecutiveFailures: 1 } });
    const failure = await failureOf(client.getAgentConfig("agent-ok"));
    expect([failure.kind, failure.status]).toEqual(["client_error", 401]);
    expect(provider.requests).toBe(1);
    expect(client.breakerState).toBe("closed");
  });

  it("times out an attempt that never gets an answer, retries it, and leaves no request open", async () => {
    provider.program("hung", reply.hang());
    const { client } = clientOf(provider, { timeoutMs: 150, retry: { maxRetries: 1 }, breaker: noBreaker });
    const started = performance.now();
    const failure = await failureOf(client.getAgentConfig("hung"));
    expect(failure.kind).toBe("timeout");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(provider.requestsFor("hung")).toBe(2);
    await eventually(() => provider.inFlight === 0);
  });
});

describe("voice client: retries", () => {
  it("retries a failing agent after about 1 s, 2 s and 4 s, then gives up with server_error", async () => {
    provider.program("always-500", reply.error(500));
    const { client, delays } = clientOf(provider, { breaker: noBreaker });
    const failure = await failureOf(client.getAgentConfig("always-500"));
    expect([failure.kind, failure.status]).toEqual(["server_error", 500]);
    expect(provider.requestsFor("always-500")).toBe(4);
    expect(delays).toHaveLength(3);
    [1000, 2000, 4000].forEach((nominal, i) => {
      expect(delays[i], `delay ${i + 1} of ${JSON.stringify(delays)}`).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(delays[i], `delay ${i + 1} of ${JSON.stringify(delays)}`).toBeLessThanOrEqual(nominal * 1.2);
    });
  });

  it("jitters every delay within ±20 % of its nominal value, so instances do not retry in step", async () => {
    const ids = agentIds("jitter", 20);
    for (const id of ids) provider.program(id, reply.error(503));
    const { client, delays } = clientOf(provider, { breaker: noBreaker, concurrency: { limit: 20 } });
    await Promise.allSettled(ids.map((id) => client.getAgentConfig(id)));
    expect(delays).toHaveLength(60);
    for (const nominal of [1000, 2000, 4000]) {
      const around = delays.filter((d) => d >= nominal * 0.8 && d <= nominal * 1.2);
      expect(around.length, JSON.stringify(delays)).toBe(20);
      expect(new Set(around).size, "delays are not all equal").toBeGreaterThan(1);
    }
  });

  it("follows a configured schedule and number of retries", async () => {
    provider.program("always-500", reply.error(500));
    const { client, delays } = clientOf(provider, {
      retry: { maxRetries: 2, initialDelayMs: 100, jitter: 0 },
      breaker: noBreaker,
    });
    await failureOf(client.getAgentConfig("always-500"));
    expect(delays).toEqual([100, 200]);
    expect(provider.requestsFor("always-500")).toBe(3);
  });

  it("succeeds when a retry gets through", async () => {
    provider.program("recovers", reply.error(502), reply.error(500), reply.ok());
    const { client, delays } = clientOf(provider, { breaker: noBreaker });
    expect(await client.getAgentConfig("recovers")).toMatchObject({ voiceAgentId: "recovers" });
    expect(delays).toHaveLength(2);
  });

  it("retries a 429 system_busy after about 1 s, 2 s and 4 s, and never counts it against the provider", async () => {
    provider.program("busy", reply.systemBusy(), reply.systemBusy(), reply.ok());
    const { client, delays } = clientOf(provider, { breaker: noBreaker });
    expect(await client.getAgentConfig("busy")).toMatchObject({ voiceAgentId: "busy" });
    expect(provider.requestsFor("busy")).toBe(3);
    expect(delays).toHaveLength(2);

    provider.program("always-busy", reply.systemBusy());
    const strict = clientOf(provider, { breaker: { consecutiveFailures: 1 } });
    expect((await failureOf(strict.client.getAgentConfig("always-busy"))).kind).toBe("system_busy");
    expect(provider.requestsFor("always-busy")).toBe(4);
    for (const [i, nominal] of [1000, 2000, 4000].entries()) expect(Math.abs(strict.delays[i]! - nominal)).toBeLessThanOrEqual(nominal * 0.2);
    expect(strict.client.breakerState, "the provider answered: busy is no breaker failure").toBe("closed");
  });
});

describe("voice client: concurrency", () => {
  it("never has more requests in flight than the bulkhead allows", async () => {
    provider.setDefault(reply.ok(30));
    const { client } = clientOf(provider, { concurrency: { limit: 3 } });
    const configs = await Promise.all(agentIds("bulk", 30).map((id) => client.getAgentConfig(id)));
    expect(configs.every((c) => c !== null)).toBe(true);
    expect(provider.maxInFlight).toBeLessThanOrEqual(3);
    expect(provider.maxInFlight, "the limit is used, not just respected").toBe(3);
  });

  it("halves concurrency on a 429 too_many_concurrent_requests, retries after the backoff, and recovers step by step", async () => {
    provider.program("over-plan", reply.tooManyConcurrent(), reply.ok());
    const { client, clock, delays } = clientOf(provider, { concurrency: { limit: 5, recoveryMs: 30_000 } });
    expect(client.concurrencyLimit).toBe(5);
    expect(await client.getAgentConfig("over-plan")).toMatchObject({ voiceAgentId: "over-plan" });
    expect(provider.requestsFor("over-plan")).toBe(2);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(800);
    expect(delays[0]).toBeLessThanOrEqual(1200);
    expect(client.breakerState).toBe("closed");
    expect(client.concurrencyLimit).toBe(2);
    // the backoff moved the clock; recovery counts from the 429
    clock.advance(29_999 - delays[0]!);
    expect(client.concurrencyLimit).toBe(2);
    clock.advance(1);
    expect(client.concurrencyLimit).toBe(3);
    clock.advance(30_000);
    expect(client.concurrencyLimit).toBe(4);
    clock.advance(30_000);
    expect(client.concurrencyLimit).toBe(5);
  });

  it("stays under a plan smaller than configured once the provider has said so", async () => {
    provider.setPlanLimit(2);
    provider.setDefault(reply.ok(40));
    const { client } = clientOf(provider, { concurrency: { limit: 5 } });

    const first = agentIds("wave1", 20);
    const outcomes = await Promise.allSettled(first.map((id) => client.getAgentConfig(id)));
    const refused = first.filter((_, i) => {
      const o = outcomes[i]!;
      return o.status === "rejected" && (o.reason as { kind?: string }).kind === "too_many_concurrent_requests";
    });
    const refusedFirst = first.filter((id) => provider.requestsFor(id) > 1);
    expect(refused, "every agent was answered in the end").toEqual([]);
    expect(refusedFirst.length, "the provider refused some of the first burst, and they were asked again").toBeGreaterThan(0);
    expect(client.concurrencyLimit).toBeLessThanOrEqual(2);

    provider.resetStats();
    const second = await Promise.allSettled(agentIds("wave2", 20).map((id) => client.getAgentConfig(id)));
    expect(second.filter((o) => o.status === "rejected")).toEqual([]);
    expect(provider.maxInFlight).toBeLessThanOrEqual(2);
  });

  it("refuses calls past the queue limit as queue_full", async () => {
    provider.setDefault(reply.ok(50));
    const { client } = clientOf(provider, { concurrency: { limit: 1, queueLimit: 2 } });
    const outcomes = await Promise.allSettled(agentIds("queue", 5).map((id) => client.getAgentConfig(id)));
    const kinds = outcomes.map((o) => (o.status === "fulfilled" ? "ok" : (o.reason as { kind: string }).kind));
    expect(kinds).toEqual(["ok", "ok", "ok", "queue_full", "queue_full"]);
  });
});
