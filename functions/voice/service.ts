import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import { createVoiceClient, type VoiceClientOptions } from "./client";
import { createVoiceConfigService, type VoiceConfigService } from "./config-service";
import type { VoiceStore } from "./store";

/**
 * How long the app serves a config as fresh: two minutes past the `warm-voice-configs` job's 10-minute schedule, so a
 * config the job keeps warm never reads as past fresh while the job's next run is on its way (the agents list would
 * then ask the provider itself and, past its budget, answer `stale`).
 */
export const APP_VOICE_CONFIG_FRESH_MS = 12 * 60 * 1000;

export type VoiceServiceOptions = {
  /** `VOICE_API_URL` */
  baseUrl: string;
  /** `VOICE_API_KEY` */
  apiKey: string;
  /** cached configs and the circuit breaker's state; `voiceStoreOver(sharedCache, clock)` shares them between instances */
  store: VoiceStore;
  clock: Clock;
  logger: Logger;
  /** the agents list's default wait for the provider (ms); `VOICE_BUDGET_MS` (300) when absent */
  budgetMs?: number;
  /** `APP_VOICE_CONFIG_FRESH_MS` when absent */
  freshMs?: number;
  staleMs?: number;
  /** the client's policies (timeout, retry, bulkhead, breaker); the defaults follow SPEC §9 */
  client?: Omit<VoiceClientOptions, "baseUrl" | "apiKey" | "store" | "clock" | "logger">;
};

/** The voice provider as the app uses it: one client (shared breaker, bulkhead) and the config service over it. */
export function createVoiceService(options: VoiceServiceOptions): VoiceConfigService {
  const { baseUrl, apiKey, store, clock, logger } = options;
  const client = createVoiceClient({ ...options.client, baseUrl, apiKey, store, clock, logger });
  return createVoiceConfigService({
    client,
    store,
    clock,
    logger,
    account: voiceAccountOf(baseUrl, apiKey),
    ...(options.budgetMs === undefined ? {} : { budgetMs: options.budgetMs }),
    freshMs: options.freshMs ?? APP_VOICE_CONFIG_FRESH_MS,
    ...(options.staleMs === undefined ? {} : { staleMs: options.staleMs }),
  });
}

/**
 * The cache scope of a provider account: a short FNV-1a digest of its URL and key. Changing the key to another
 * account's never serves the old account's cached configs, and the key itself never appears in the store. It is no
 * secret-keeping hash (32 bits of a long random key reveal nothing usable), only a label.
 */
export function voiceAccountOf(baseUrl: string, apiKey: string): string {
  let hash = 0x811c9dc5;
  for (const char of `${baseUrl.replace(/\/+$/, "")}\n${apiKey}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `a${hash.toString(16).padStart(8, "0")}`;
}
