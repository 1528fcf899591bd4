import { expect } from "vitest";
import { ManualClock } from "../../functions/lib/clock";
import { createVoiceClient, type VoiceClient, type VoiceClientOptions } from "../../functions/voice/client";
import { VoiceProviderError } from "../../functions/voice/errors";
import type { Sleep } from "../../functions/voice/sleep";
import type { VoiceProviderFixture } from "../fixtures/voice-provider";

export type TestClient = { client: VoiceClient; clock: ManualClock; delays: number[] };

/**
 * A client of the fixture provider whose backoff sleeps only move a manual clock (recording each delay), and whose
 * breaker re-reads its shared state before every call.
 */
export function clientOf(provider: VoiceProviderFixture, options: Partial<VoiceClientOptions> & { clock?: ManualClock } = {}): TestClient {
  const clock = options.clock ?? new ManualClock("2025-03-01T12:00:00Z");
  const delays: number[] = [];
  const sleep: Sleep = async (ms) => {
    delays.push(ms);
    clock.advance(ms);
  };
  const client = createVoiceClient({
    baseUrl: provider.url,
    apiKey: provider.apiKey,
    sleep,
    ...options,
    clock,
    breaker: { syncIntervalMs: 0, ...options.breaker },
  });
  return { client, clock, delays };
}

/** The failure a call ended with; fails the test when it succeeded. */
export async function failureOf(promise: Promise<unknown>): Promise<VoiceProviderError> {
  try {
    const value = await promise;
    expect.fail(`expected a failure, got ${JSON.stringify(value)}`);
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(VoiceProviderError);
    return error as VoiceProviderError;
  }
}

export async function eventually(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) expect.fail("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const agentIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
