import { systemClock, type Clock } from "../lib/clock";
import { silentLogger, type Logger } from "../lib/logger";
import type { VoiceAgentConfig } from "./agent-config";
import type { VoiceClient } from "./client";
import type { BreakerState } from "./shared-breaker";
import type { VoiceStore } from "./store";

/** Spec §9: the agents list waits this long for the provider, then answers from cache or without config. */
export const VOICE_BUDGET_MS = 300;
/** A config changes when someone edits the agent at the provider; ten minutes late is fine for a dashboard. */
export const VOICE_CONFIG_FRESH_MS = 10 * 60 * 1000;
/** A day-old config still beats none while the provider is down. */
export const VOICE_CONFIG_STALE_MS = 24 * 60 * 60 * 1000;

/**
 * - `ok`: answered by the provider within the budget, or cached less than the fresh interval ago
 * - `stale`: the provider did not answer in time; `config` is an older cached copy
 * - `unavailable`: the provider did not answer in time and nothing is cached
 * - `none`: the agent has no voice agent id
 * - `not_found`: the provider has no agent with this id (a definite answer, cached like a config)
 */
export type VoiceConfigStatus = "ok" | "stale" | "unavailable" | "none" | "not_found";

export type VoiceConfigResult = {
  voiceAgentId: string | null;
  status: VoiceConfigStatus;
  config: VoiceAgentConfig | null;
  /** when the provider gave this answer (ISO); null when it never did */
  fetchedAt: string | null;
};

export type VoiceConfigsAnswer = {
  /** one per id asked, in the order asked */
  configs: VoiceConfigResult[];
  /** some answer is `stale` or `unavailable`: surfaces as `meta.partial` */
  partial: boolean;
};

export type VoiceConfigsOptions = {
  budgetMs?: number;
  /** keeps refreshes that outlive the budget running until they fill the cache (Workers' `ctx.waitUntil`) */
  waitUntil?: (promise: Promise<unknown>) => void;
};

export type VoiceWarmReport = {
  requested: number;
  refreshed: number;
  notFound: number;
  failed: number;
  durationMs: number;
  breaker: BreakerState;
};

export interface VoiceConfigService {
  /** Voice configs for many agents, never waiting for the provider past the budget. */
  getVoiceConfigs(voiceAgentIds: readonly (string | null)[], options?: VoiceConfigsOptions): Promise<VoiceConfigsAnswer>;
  /** Refreshes the cached configs of these agents from the provider, fresh or not (the `warm-voice-configs` job). */
  warmVoiceConfigs(voiceAgentIds: readonly (string | null)[]): Promise<VoiceWarmReport>;
  /** the client's circuit breaker as this instance last saw it (`GET /metrics` reports it) */
  readonly breakerState: BreakerState;
}

export type VoiceConfigServiceOptions = {
  client: VoiceClient;
  store: VoiceStore;
  clock?: Clock;
  logger?: Logger;
  /**
   * The provider account (API key) the client calls with. Cache entries are scoped to it so that one
   * organization cannot read another's config by naming its voice agent id.
   */
  account?: string;
  freshMs?: number;
  staleMs?: number;
  budgetMs?: number;
};

/** What the cache holds per agent: the provider's answer and when it gave it. */
type CachedConfig = { config: VoiceAgentConfig | null; fetchedAt: number };

export function createVoiceConfigService(options: VoiceConfigServiceOptions): VoiceConfigService {
  const { client, store } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const freshMs = options.freshMs ?? VOICE_CONFIG_FRESH_MS;
  const staleMs = options.staleMs ?? VOICE_CONFIG_STALE_MS;
  const defaultBudgetMs = options.budgetMs ?? VOICE_BUDGET_MS;
  const keyOf = (voiceAgentId: string) => `voice:config:v1:${options.account ?? "default"}:${voiceAgentId}`;
  /** one provider call per agent at a time, however many requests ask for it */
  const refreshing = new Map<string, Promise<CachedConfig>>();

  async function readCached(ids: readonly string[]): Promise<Map<string, CachedConfig>> {
    const cached = new Map<string, CachedConfig>();
    if (ids.length === 0) return cached;
    let raws: (string | null)[];
    try {
      raws = await store.getMany(ids.map(keyOf));
    } catch (error) {
      logger.log("warn", "voice config cache read failed", { error: String(error) });
      return cached;
    }
    raws.forEach((raw, i) => {
      if (raw === null || raw === undefined) return;
      try {
        cached.set(ids[i]!, JSON.parse(raw) as CachedConfig);
      } catch {
        // an unreadable entry is a miss; the refresh overwrites it
      }
    });
    return cached;
  }

  function refresh(voiceAgentId: string): Promise<CachedConfig> {
    let running = refreshing.get(voiceAgentId);
    if (running) return running;
    running = (async () => {
      try {
        const config = await client.getAgentConfig(voiceAgentId);
        const entry: CachedConfig = { config, fetchedAt: clock.now().getTime() };
        try {
          // "not found" is kept only while fresh: an agent created at the provider shows up within that interval
          await store.set(keyOf(voiceAgentId), JSON.stringify(entry), config ? freshMs + staleMs : freshMs);
        } catch (error) {
          logger.log("warn", "voice config cache write failed", { voiceAgentId, error: String(error) });
        }
        return entry;
      } finally {
        refreshing.delete(voiceAgentId);
      }
    })();
    refreshing.set(voiceAgentId, running);
    return running;
  }

  const answer = (voiceAgentId: string, entry: CachedConfig, fresh: boolean): VoiceConfigResult => ({
    voiceAgentId,
    status: entry.config === null ? "not_found" : fresh ? "ok" : "stale",
    config: entry.config,
    fetchedAt: new Date(entry.fetchedAt).toISOString(),
  });
  const unavailable = (voiceAgentId: string): VoiceConfigResult => ({ voiceAgentId, status: "unavailable", config: null, fetchedAt: null });
  const fallback = (voiceAgentId: string, entry: CachedConfig | undefined): VoiceConfigResult =>
    // a stale "not found" is no answer: the agent may exist by now
    entry && entry.config !== null ? answer(voiceAgentId, entry, false) : unavailable(voiceAgentId);

  return {
    async getVoiceConfigs(voiceAgentIds, { budgetMs = defaultBudgetMs, waitUntil } = {}) {
      const ids = [...new Set(voiceAgentIds.filter((id): id is string => id !== null))];
      const settled = new Map<string, VoiceConfigResult>();
      // what each id answers if the budget runs out first
      const provisional = new Map<string, VoiceConfigResult>();

      const work = (async () => {
        const cached = await readCached(ids);
        const now = clock.now().getTime();
        await Promise.all(
          ids.map(async (id) => {
            const entry = cached.get(id);
            if (entry && now - entry.fetchedAt < freshMs) {
              settled.set(id, answer(id, entry, true));
              return;
            }
            provisional.set(id, fallback(id, entry));
            try {
              settled.set(id, answer(id, await refresh(id), true));
            } catch {
              settled.set(id, fallback(id, entry));
            }
          }),
        );
      })();

      let timer: ReturnType<typeof setTimeout> | undefined;
      const inTime = await Promise.race([work.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)))]);
      clearTimeout(timer);
      if (!inTime) waitUntil?.(work);

      const byId = new Map<string, VoiceConfigResult>();
      for (const id of ids) byId.set(id, settled.get(id) ?? provisional.get(id) ?? unavailable(id));
      const configs = voiceAgentIds.map(
        (id): VoiceConfigResult => (id === null ? { voiceAgentId: null, status: "none", config: null, fetchedAt: null } : byId.get(id)!),
      );
      const partial = configs.some((c) => c.status === "stale" || c.status === "unavailable");
      if (partial) {
        const count = (status: VoiceConfigStatus) => configs.filter((c) => c.status === status).length;
        logger.log("info", "voice configs answered partially", {
          asked: ids.length,
          stale: count("stale"),
          unavailable: count("unavailable"),
          budgetMs,
          breaker: client.breakerState,
        });
      }
      return { configs, partial };
    },

    async warmVoiceConfigs(voiceAgentIds) {
      const started = clock.now().getTime();
      const ids = [...new Set(voiceAgentIds.filter((id): id is string => id !== null))];
      const outcomes = await Promise.allSettled(ids.map(refresh));
      const report: VoiceWarmReport = {
        requested: ids.length,
        refreshed: outcomes.filter((o) => o.status === "fulfilled" && o.value.config !== null).length,
        notFound: outcomes.filter((o) => o.status === "fulfilled" && o.value.config === null).length,
        failed: outcomes.filter((o) => o.status === "rejected").length,
        durationMs: clock.now().getTime() - started,
        breaker: client.breakerState,
      };
      logger.log(report.failed > 0 ? "warn" : "info", "voice configs warmed", report);
      return report;
    },

    get breakerState() {
      return client.breakerState;
    },
  };
}
