import { systemClock, type Clock } from "../lib/clock";
import { silentLogger, type Logger } from "../lib/logger";
import type { VoiceAgentConfig } from "./agent-config";
import type { VoiceClient } from "./client";
import { VoiceProviderError, isAgentFailure } from "./errors";
import type { BreakerState } from "./shared-breaker";
import type { VoiceStore } from "./store";

/** Spec §9: the agents list waits this long for the provider, then answers from cache or without config. */
export const VOICE_BUDGET_MS = 300;
/** A config changes when someone edits the agent at the provider; ten minutes late is fine for a dashboard. */
export const VOICE_CONFIG_FRESH_MS = 10 * 60 * 1000;
/** A day-old config still beats none while the provider is down. */
export const VOICE_CONFIG_STALE_MS = 24 * 60 * 60 * 1000;
/**
 * A voice agent whose lookup failed (timeout, 5xx, malformed answer, 429) is not asked again for 30 s, then 1, 2, 4 …
 * minutes after each further failure: its own schedule, so a broken agent costs the provider (and the agents list's
 * budget and bulkhead) one call per interval while every other agent is asked as usual.
 */
export const VOICE_AGENT_BACKOFF_INITIAL_MS = 30_000;
/**
 * At most the warm-voice-configs job's interval: every run asks each failing agent again, so an agent that recovers
 * (or a provider back from an outage) is `ok` again within one run.
 */
export const VOICE_AGENT_BACKOFF_MAX_MS = 10 * 60 * 1000;

/**
 * - `ok`: answered by the provider within the budget, or cached less than the fresh interval ago
 * - `stale`: the provider did not answer in time, or this agent's lookups fail and it is backing off; `config` is the
 *   last good copy
 * - `unavailable`: as `stale`, with no good copy cached
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
  /** agents not asked: their lookups failed lately and their own backoff has not run out */
  backingOff: number;
  durationMs: number;
  breaker: BreakerState;
};

/** A voice agent as one organization names it: configs are cached and answered per organization. */
export type VoiceAgentRef = { orgId: string; voiceAgentId: string };

export interface VoiceConfigService {
  /** One organization's agents' voice configs, never waiting for the provider past the budget. */
  getVoiceConfigs(orgId: string, voiceAgentIds: readonly (string | null)[], options?: VoiceConfigsOptions): Promise<VoiceConfigsAnswer>;
  /** Refreshes the cached configs of these agents from the provider, fresh or not (the `warm-voice-configs` job). */
  warmVoiceConfigs(agents: readonly VoiceAgentRef[]): Promise<VoiceWarmReport>;
  /** the client's circuit breaker as this instance last saw it (`GET /metrics` reports it) */
  readonly breakerState: BreakerState;
}

export type VoiceConfigServiceOptions = {
  client: VoiceClient;
  store: VoiceStore;
  clock?: Clock;
  logger?: Logger;
  /**
   * The provider account (API key) the client calls with. Cache entries are scoped to it, and to the organization
   * asking, so that no answer crosses accounts or tenants (SPEC §11: an organization cannot name another's voice agent).
   */
  account?: string;
  freshMs?: number;
  staleMs?: number;
  budgetMs?: number;
};

/**
 * What the cache holds per agent: the provider's last good answer (a config, or null for "no such agent") and when it
 * gave it, and, while the agent's lookups fail, how often they failed and when to ask again.
 */
type CachedConfig = {
  config: VoiceAgentConfig | null;
  /** null when the provider never answered for this agent */
  fetchedAt: number | null;
  failing?: { count: number; since: number; retryAt: number; kind: string };
};

/** One lookup: the entry it leaves in the cache, and whether the provider answered. */
type Refreshed = { entry: CachedConfig | undefined; answered: boolean };

export function createVoiceConfigService(options: VoiceConfigServiceOptions): VoiceConfigService {
  const { client, store } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const freshMs = options.freshMs ?? VOICE_CONFIG_FRESH_MS;
  const staleMs = options.staleMs ?? VOICE_CONFIG_STALE_MS;
  const defaultBudgetMs = options.budgetMs ?? VOICE_BUDGET_MS;
  const keyOf = (orgId: string, voiceAgentId: string) => `voice:config:v2:${options.account ?? "default"}:${orgId}:${voiceAgentId}`;
  /** one provider call per agent at a time, however many requests ask for it */
  const refreshing = new Map<string, { running: Promise<Refreshed>; waitedUntil: number }>();
  /**
   * A lookup whose starter has already waited its budget out for it (a hung agent through its attempts and retries, a
   * slow one): a request that needs the same agent answers what is cached at once instead of waiting its own budget out
   * too. Wall time, as the budget itself.
   */
  const outlastedItsBudget = (key: string) => {
    const lookup = refreshing.get(key);
    return lookup !== undefined && performance.now() >= lookup.waitedUntil;
  };

  async function readCached(keys: readonly string[]): Promise<(CachedConfig | undefined)[]> {
    if (keys.length === 0) return [];
    let raws: (string | null)[];
    try {
      raws = await store.getMany(keys);
    } catch (error) {
      logger.log("warn", "voice config cache read failed", { error: String(error) });
      return keys.map(() => undefined);
    }
    return keys.map((_, i) => {
      const raw = raws[i];
      if (raw === null || raw === undefined) return undefined;
      try {
        return JSON.parse(raw) as CachedConfig;
      } catch {
        return undefined; // an unreadable entry is a miss; the refresh overwrites it
      }
    });
  }

  async function write(key: string, entry: CachedConfig, ttlMs: number, voiceAgentId: string): Promise<void> {
    try {
      await store.set(key, JSON.stringify(entry), Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      logger.log("warn", "voice config cache write failed", { voiceAgentId, error: String(error) });
    }
  }

  const isFresh = (entry: CachedConfig | undefined, now: number) => entry?.fetchedAt != null && now - entry.fetchedAt < freshMs;
  const backingOff = (entry: CachedConfig | undefined, now: number) => entry?.failing !== undefined && now < entry.failing.retryAt;

  /** Asks the provider for one agent; remembers the answer, or the failure with the agent's next backoff. Never throws. */
  function refresh(orgId: string, voiceAgentId: string, previous: CachedConfig | undefined, budgetMs = defaultBudgetMs): Promise<Refreshed> {
    const key = keyOf(orgId, voiceAgentId);
    const inFlight = refreshing.get(key);
    if (inFlight) return inFlight.running;
    const running = (async (): Promise<Refreshed> => {
      try {
        // an agent already failing fails again as evidence about itself, not about the provider: the breaker counts
        // its success only, so broken agents, however many tenants have them, never open the circuit for the rest
        const config = await client.getAgentConfig(voiceAgentId, { knownFailing: previous?.failing !== undefined });
        const entry: CachedConfig = { config, fetchedAt: clock.now().getTime() };
        // "not found" is kept only while fresh: an agent created at the provider shows up within that interval
        await write(key, entry, config ? freshMs + staleMs : freshMs, voiceAgentId);
        if (previous?.failing) logger.log("info", "voice agent answers again", { orgId, voiceAgentId, failures: previous.failing.count });
        return { entry, answered: true };
      } catch (error) {
        // refused on our side (open circuit, full queue): nothing learnt about this agent, no backoff of its own
        if (!isAgentFailure(error)) return { entry: previous, answered: false };
        const now = clock.now().getTime();
        const count = (previous?.failing?.count ?? 0) + 1;
        const delay = Math.min(VOICE_AGENT_BACKOFF_MAX_MS, VOICE_AGENT_BACKOFF_INITIAL_MS * 2 ** (count - 1));
        const kind = error instanceof VoiceProviderError ? error.kind : "unknown";
        const entry: CachedConfig = {
          config: previous?.config ?? null,
          fetchedAt: previous?.fetchedAt ?? null,
          failing: { count, since: previous?.failing?.since ?? now, retryAt: now + delay, kind },
        };
        // the last good config stays as long as it would have; the failure is remembered past its retry, so the
        // next failure doubles the delay
        const configLeft = entry.config && entry.fetchedAt !== null ? entry.fetchedAt + freshMs + staleMs - now : 0;
        await write(key, entry, Math.max(configLeft, delay + VOICE_AGENT_BACKOFF_MAX_MS), voiceAgentId);
        logger.log("warn", "voice agent lookup failed", { orgId, voiceAgentId, kind, failures: count, retryInMs: delay });
        return { entry, answered: false };
      } finally {
        refreshing.delete(key);
      }
    })();
    refreshing.set(key, { running, waitedUntil: performance.now() + budgetMs });
    return running;
  }

  const answer = (voiceAgentId: string, entry: CachedConfig, fresh: boolean): VoiceConfigResult => ({
    voiceAgentId,
    status: entry.config === null ? "not_found" : fresh ? "ok" : "stale",
    config: entry.config,
    fetchedAt: entry.fetchedAt === null ? null : new Date(entry.fetchedAt).toISOString(),
  });
  const unavailable = (voiceAgentId: string): VoiceConfigResult => ({ voiceAgentId, status: "unavailable", config: null, fetchedAt: null });
  /** what an agent answers without a new answer from the provider: its last good config while it is kept, stale */
  const fallback = (voiceAgentId: string, entry: CachedConfig | undefined, now: number): VoiceConfigResult =>
    // a stale "not found" is no answer: the agent may exist by now
    entry?.config != null && entry.fetchedAt !== null && now - entry.fetchedAt < freshMs + staleMs
      ? answer(voiceAgentId, entry, false)
      : unavailable(voiceAgentId);

  return {
    async getVoiceConfigs(orgId, voiceAgentIds, { budgetMs = defaultBudgetMs, waitUntil } = {}) {
      const ids = [...new Set(voiceAgentIds.filter((id): id is string => id !== null))];
      const settled = new Map<string, VoiceConfigResult>();
      // what each id answers if the budget runs out first
      const provisional = new Map<string, VoiceConfigResult>();

      const work = (async () => {
        const cached = await readCached(ids.map((id) => keyOf(orgId, id)));
        const now = clock.now().getTime();
        await Promise.all(
          ids.map(async (id, i) => {
            const entry = cached[i];
            if (isFresh(entry, now)) {
              settled.set(id, answer(id, entry!, true));
              return;
            }
            // a failing agent within its own backoff is not asked, nor waited for when another request's lookup of it
            // outlasted that request's budget: it answers its last good config, at once
            if (backingOff(entry, now) || outlastedItsBudget(keyOf(orgId, id))) {
              settled.set(id, fallback(id, entry, now));
              return;
            }
            provisional.set(id, fallback(id, entry, now));
            const { entry: after, answered } = await refresh(orgId, id, entry, budgetMs);
            settled.set(id, answered && after ? answer(id, after, true) : fallback(id, after, now));
          }),
        );
      })();

      let timer: ReturnType<typeof setTimeout> | undefined;
      const inTime = await Promise.race([
        work.then(() => true),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs))),
      ]);
      clearTimeout(timer);
      // past the budget the lookups go on (their retries of busy agents after 1, 2, 4 s included) and fill the cache:
      // through the Workers invocation's waitUntil, or on Node in the process, which outlives the request
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

    async warmVoiceConfigs(agents) {
      const started = clock.now().getTime();
      const unique = [...new Map(agents.map((agent) => [keyOf(agent.orgId, agent.voiceAgentId), agent])).entries()];
      const cached = await readCached(unique.map(([key]) => key));
      const now = clock.now().getTime();
      // an agent within its own backoff is skipped: the run asks it again once the backoff has run out
      const outcomes = await Promise.all(unique.map(([, agent], i) => (backingOff(cached[i], now) ? null : refresh(agent.orgId, agent.voiceAgentId, cached[i]))));
      const asked = outcomes.filter((o): o is Refreshed => o !== null);
      const report: VoiceWarmReport = {
        requested: unique.length,
        refreshed: asked.filter((o) => o.answered && o.entry?.config != null).length,
        notFound: asked.filter((o) => o.answered && o.entry?.config == null).length,
        failed: asked.filter((o) => !o.answered).length,
        backingOff: outcomes.length - asked.length,
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
