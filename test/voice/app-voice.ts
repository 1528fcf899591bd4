import { expect } from "vitest";
import { ManualClock, type Clock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import type { VoiceConfigService } from "../../functions/voice/config-service";
import { APP_VOICE_CONFIG_FRESH_MS, createVoiceService, type VoiceServiceOptions } from "../../functions/voice/service";
import { memoryVoiceStore, type VoiceStore } from "../../functions/voice/store";
import type { TestApp } from "../support/app";
import { startVoiceProvider, type VoiceProviderFixture } from "../fixtures/voice-provider";

/** past the app's fresh interval for voice configs (`APP_VOICE_CONFIG_FRESH_MS`, 12 minutes) */
export const PAST_FRESH_MS = APP_VOICE_CONFIG_FRESH_MS + 60_000;

/**
 * The app's voice service over the fixture provider, built by the entries' own `createVoiceService`, with policies
 * scaled down so a test's background work ends quickly: a 1 s attempt timeout, short real backoff sleeps, and a
 * breaker that re-reads its shared state on every call (the entries keep the 1 s sync interval).
 */
export function voiceServiceFor(
  provider: VoiceProviderFixture,
  options: { clock?: Clock; store?: VoiceStore; client?: VoiceServiceOptions["client"] } = {},
): { service: VoiceConfigService; clock: Clock } {
  const clock = options.clock ?? new ManualClock("2026-03-16T12:00:00Z");
  const service = createVoiceService({
    baseUrl: provider.url,
    apiKey: provider.apiKey,
    store: options.store ?? memoryVoiceStore(clock),
    clock,
    logger: silentLogger,
    client: {
      timeoutMs: 1_000,
      ...options.client,
      retry: { initialDelayMs: 10, maxDelayMs: 40, ...options.client?.retry },
      breaker: { syncIntervalMs: 0, ...options.client?.breaker },
    },
  });
  return { service, clock };
}

/**
 * A GET to the app in process, with an execution context as Workers hands one (Hono's `c.executionCtx`), so the
 * work the route leaves running past its budget is collected in `background` and a test can wait for it. Answers the
 * JSON body, the number of statements the request ran (from its request log line) and its wall time.
 */
export async function requestCounted(t: TestApp, path: string, key: string, background: Promise<unknown>[] = []) {
  const executionCtx = { waitUntil: (promise: Promise<unknown>) => void background.push(promise), passThroughOnException() {}, props: {} };
  const started = performance.now();
  const res = await t.app.request(path, { headers: { authorization: `Bearer ${key}` } }, undefined, executionCtx);
  const elapsedMs = performance.now() - started;
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const requestId = res.headers.get("x-request-id");
  const line = t.logs.find((l) => (l.msg === "request" || l.msg === "slow request") && l.requestId === requestId);
  expect(line, `no request log line for ${path}`).toBeDefined();
  return { json: JSON.parse(text), statements: line!.statements as number, elapsedMs, serverTiming: res.headers.get("server-timing"), background };
}

export const voiceStatuses = (json: { data: { voice: { status: string } }[] }) => json.data.map((a) => a.voice.status);

/**
 * The fixture provider after one request: Node loads its fetch implementation on first use, which on a loaded machine
 * outlasts an attempt's timeout.
 */
export async function startWarmedVoiceProvider(): Promise<VoiceProviderFixture> {
  const provider = await startVoiceProvider();
  await fetch(`${provider.url}/v1/convai/agents/warm-up`, { headers: { "xi-api-key": provider.apiKey } }).then((r) => r.text());
  return provider;
}
