import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import type { VoiceAgentConfig } from "./agent-config";
import type { VoiceClient } from "./client";
import { VoiceProviderError, isAgentFailure } from "./errors";
import type { VoiceStore } from "./store";

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
 * What the cache holds per agent: the provider's last good answer (a config, or null for "no such agent") and when it
 * gave it, and, while the agent's lookups fail, how often they failed and when to ask again.
 */
export type AgentEntry = {
  config: VoiceAgentConfig | null;
  /** null when the provider never answered for this agent */
  fetchedAt: number | null;
  failing?: { count: number; since: number; retryAt: number; kind: string };
};

/** One lookup: the entry it leaves in the cache, and whether the provider answered. */
export type Lookup = { entry: AgentEntry | undefined; answered: boolean };

type AgentLookupsOptions = {
  client: VoiceClient;
  store: VoiceStore;
  clock: Clock;
  logger: Logger;
  freshMs: number;
  staleMs: number;
  /** how long a request that starts a lookup waits for it, unless it says */
  defaultBudgetMs: number;
  /** the provider account the cache entries are scoped to (with the organization) */
  account: string;
};

/**
 * Each voice agent's cache entry and its lookups at the provider: one lookup per agent at a time, its answer cached, or
 * its failure remembered with the agent's own backoff (the config service decides what to ask and what to answer).
 */
export function createAgentLookups(options: AgentLookupsOptions) {
  const { client, store, clock, logger, freshMs, staleMs, defaultBudgetMs } = options;
  const keyOf = (orgId: string, voiceAgentId: string) => `voice:config:v2:${options.account}:${orgId}:${voiceAgentId}`;
  /** one provider call per agent at a time, however many requests ask for it */
  const refreshing = new Map<string, { running: Promise<Lookup>; waitedUntil: number }>();
  /**
   * A lookup whose starter has already waited its budget out for it (a hung agent through its attempts and retries, a
   * slow one): a request that needs the same agent answers what is cached at once instead of waiting its own budget out
   * too. Wall time, as the budget itself.
   */
  const outlastedItsBudget = (key: string) => {
    const lookup = refreshing.get(key);
    return lookup !== undefined && performance.now() >= lookup.waitedUntil;
  };

  async function read(keys: readonly string[]): Promise<(AgentEntry | undefined)[]> {
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
        return JSON.parse(raw) as AgentEntry;
      } catch {
        return undefined; // an unreadable entry is a miss; the refresh overwrites it
      }
    });
  }

  async function write(key: string, entry: AgentEntry, ttlMs: number, voiceAgentId: string): Promise<void> {
    try {
      await store.set(key, JSON.stringify(entry), Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      logger.log("warn", "voice config cache write failed", { voiceAgentId, error: String(error) });
    }
  }

  const isFresh = (entry: AgentEntry | undefined, now: number) => entry?.fetchedAt != null && now - entry.fetchedAt < freshMs;
  const backingOff = (entry: AgentEntry | undefined, now: number) => entry?.failing !== undefined && now < entry.failing.retryAt;

  /**
   * Asks the provider for one agent; remembers the answer, or the failure with the agent's next backoff. Never throws.
   * `budgetEndsAt` (performance.now() time): when the request that starts it stops waiting for it.
   */
  function refresh(orgId: string, voiceAgentId: string, previous: AgentEntry | undefined, budgetEndsAt?: number): Promise<Lookup> {
    const key = keyOf(orgId, voiceAgentId);
    const inFlight = refreshing.get(key);
    if (inFlight) return inFlight.running;
    const running = (async (): Promise<Lookup> => {
      try {
        // an agent already failing fails again as evidence about itself, not about the provider: the breaker counts
        // its success only, so broken agents, however many tenants have them, never open the circuit for the rest
        const config = await client.getAgentConfig(voiceAgentId, { knownFailing: previous?.failing !== undefined });
        const entry: AgentEntry = { config, fetchedAt: clock.now().getTime() };
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
        const entry: AgentEntry = {
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
    refreshing.set(key, { running, waitedUntil: budgetEndsAt ?? performance.now() + defaultBudgetMs });
    return running;
  }

  return { keyOf, read, refresh, isFresh, backingOff, outlastedItsBudget };
}
