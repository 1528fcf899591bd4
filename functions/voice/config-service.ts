import { systemClock, type Clock } from "../lib/clock";
import { silentLogger, type Logger } from "../lib/logger";
import type { VoiceAgentConfig } from "./agent-config";
import type { VoiceClient } from "./client";
import { createAgentLookups, type AgentEntry, type Lookup } from "./agent-lookups";
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

export function createVoiceConfigService(options: VoiceConfigServiceOptions): VoiceConfigService {
  const { client, store } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const freshMs = options.freshMs ?? VOICE_CONFIG_FRESH_MS;
  const staleMs = options.staleMs ?? VOICE_CONFIG_STALE_MS;
  const defaultBudgetMs = options.budgetMs ?? VOICE_BUDGET_MS;
  const lookups = createAgentLookups({ client, store, clock, logger, freshMs, staleMs, defaultBudgetMs, account: options.account ?? "default" });
  const { keyOf, isFresh, backingOff } = lookups;

  const answer = (voiceAgentId: string, entry: AgentEntry, fresh: boolean): VoiceConfigResult => ({
    voiceAgentId,
    status: entry.config === null ? "not_found" : fresh ? "ok" : "stale",
    config: entry.config,
    fetchedAt: entry.fetchedAt === null ? null : new Date(entry.fetchedAt).toISOString(),
  });
  const unavailable = (voiceAgentId: string): VoiceConfigResult => ({ voiceAgentId, status: "unavailable", config: null, fetchedAt: null });
  /** what an agent answers without a new answer from the provider: its last good config while it is kept, stale */
  const fallback = (voiceAgentId: string, entry: AgentEntry | undefined, now: number): VoiceConfigResult =>
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
      // when this request stops waiting: a lookup it starts is "waited out" from then on, whenever the lookup began
      const budgetEndsAt = performance.now() + budgetMs;

      const work = (async () => {
        const cached = await lookups.read(ids.map((id) => keyOf(orgId, id)));
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
            if (backingOff(entry, now) || lookups.outlastedItsBudget(keyOf(orgId, id))) {
              settled.set(id, fallback(id, entry, now));
              return;
            }
            provisional.set(id, fallback(id, entry, now));
            const { entry: after, answered } = await lookups.refresh(orgId, id, entry, budgetEndsAt);
            settled.set(id, answered && after ? answer(id, after, true) : fallback(id, after, now));
          }),
        );
      })();

      let timer: ReturnType<typeof setTimeout> | undefined;
      const inTime = await Promise.race([work.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), budgetMs)))]);
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
      const cached = await lookups.read(unique.map(([key]) => key));
      const now = clock.now().getTime();
      // an agent within its own backoff is skipped: the run asks it again once the backoff has run out
      const outcomes = await Promise.all(
        unique.map(([, agent], i) => (backingOff(cached[i], now) ? null : lookups.refresh(agent.orgId, agent.voiceAgentId, cached[i]))),
      );
      const asked = outcomes.filter((o): o is Lookup => o !== null);
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
