import type { CacheResult } from "../cache/cache";
import { namespace, orgKey } from "../cache/namespaces";
import type { Db } from "../db/database";
import { resolveWindow, type Window } from "../lib/windows";
import type { VoiceAgentConfig } from "../voice/agent-config";
import type { VoiceConfigResult, VoiceConfigService, VoiceConfigsOptions } from "../voice/config-service";
import { agentsWithTotals, type AgentWithTotals } from "./agent-totals";
import type { OrgContext, ReadContext } from "../context";

/**
 * The agents list (SPEC §5 `GET /api/agents`): every non-archived agent by name, its user, and its performance over a
 * window. One statement whatever the number of agents; the voice-provider part is attached afterwards by
 * `attachVoice`, outside the cached aggregate, because it has its own cache and latency budget.
 */

/** Performance counters of one agent; rates and averages are null when their denominator is 0. */
export type AgentPerformance = {
  calls: number;
  completed: number;
  successRate: number | null;
  avgDurationSec: number | null;
  avgLeadScore: number | null;
  creditsUsed: number;
};

/** An agent as `agentsWithTotals` answers it, its counters turned into the list's performance figures. */
export type AgentListEntry = Omit<AgentWithTotals, "totals"> & { performance: AgentPerformance };

/** What the cache holds: JSON data only. */
export type AgentList = { from: string; to: string; agents: AgentListEntry[] };

const ratio = (numerator: number, denominator: number): number | null => (denominator === 0 ? null : numerator / denominator);

/** Every non-archived agent of the organization with its performance in `window` (from the rollups): one statement. */
export async function agentList(ctx: { db: Db; org: OrgContext }, window: Pick<Window, "from" | "to">): Promise<AgentList> {
  const { db, org } = ctx;
  // the list shows no milestone or objection figure: its raw calls need no analysis lookup
  const found = await agentsWithTotals(db, org.id, window, "not-archived", "calls");
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    agents: found.map(({ totals: t, ...agent }) => ({
      ...agent,
      performance: {
        calls: t.calls,
        completed: t.completed,
        successRate: ratio(t.completed, t.calls),
        avgDurationSec: ratio(t.durationCompletedSum, t.completed),
        avgLeadScore: ratio(t.scoreSum, t.scored),
        creditsUsed: t.creditsUsed,
      },
    })),
  };
}

/** `none`: no voice agent id, or no provider wired; the others come from the provider's lookup (SPEC §9). */
export type AgentVoiceStatus = "ok" | "stale" | "unavailable" | "none";
export type AgentVoice = { status: AgentVoiceStatus; config: VoiceAgentConfig | null };

/**
 * One answer of the voice config service as the agents list shows it. The service's statuses are SPEC's but one:
 * `not_found` (the provider has no agent by this id: deleted there, or a mistyped id) answers `unavailable` with no
 * config. `none` would claim the agent has no voice agent id, which is false and hides the misconfiguration;
 * `unavailable` says what is true (no config could be had) and marks the list partial. The service re-asks the provider
 * once its "not found" is past the fresh interval (minutes), so an agent created there since shows up.
 */
export function agentVoiceOf(result: Pick<VoiceConfigResult, "status" | "config">): AgentVoice {
  switch (result.status) {
    case "ok":
    case "stale":
      return result.config ? { status: result.status, config: { ...result.config } } : { status: "unavailable", config: null };
    case "none":
      return NO_VOICE;
    case "unavailable":
    case "not_found":
      return { status: "unavailable", config: null };
  }
}

/**
 * One organization's agents list's lookup over the voice config service: one `getVoiceConfigs` call for all ids, within
 * the budget (the service's default when not given); refreshes that outlive it continue through `waitUntil` when the
 * runtime has one. The organization scopes the service's cache: no answer crosses tenants.
 */
export function voiceConfigLookupOver(
  service: Pick<VoiceConfigService, "getVoiceConfigs">,
  orgId: string,
  options: VoiceConfigsOptions = {},
): VoiceConfigLookup {
  return async (voiceAgentIds) => {
    const answer = await service.getVoiceConfigs(orgId, voiceAgentIds, options);
    const byId = new Map<string, AgentVoice>();
    answer.configs.forEach((result, i) => {
      byId.set(voiceAgentIds[i]!, agentVoiceOf(result));
    });
    return byId;
  };
}

/**
 * Looks up the voice configs of many agents at once (keyed by voice agent id). It owns its latency budget and its
 * cache; an id missing from the answer counts as `unavailable`.
 */
export type VoiceConfigLookup = (voiceAgentIds: string[]) => Promise<Map<string, AgentVoice>>;

const NO_VOICE: AgentVoice = { status: "none", config: null };

/**
 * Attaches each agent's voice config with one call of `voiceConfigs` for all agents. Without a lookup every agent
 * answers `none`. `partial` is true when some config is `stale` or `unavailable` (surfaces as `meta.partial`).
 */
export async function attachVoice<T extends { voiceAgentId: string | null }>(
  agents: T[],
  voiceConfigs?: VoiceConfigLookup,
): Promise<{ agents: (T & { voice: AgentVoice })[]; partial: boolean }> {
  const ids = [...new Set(agents.flatMap((a) => (a.voiceAgentId ? [a.voiceAgentId] : [])))];
  if (!voiceConfigs || ids.length === 0) return { agents: agents.map((a) => ({ ...a, voice: NO_VOICE })), partial: false };
  let found: Map<string, AgentVoice>;
  try {
    found = await voiceConfigs(ids);
  } catch {
    // the lookup keeps its own budget; if it fails outright the list still answers, marked partial
    found = new Map();
  }
  const withVoice = agents.map((a) => ({
    ...a,
    voice: a.voiceAgentId ? (found.get(a.voiceAgentId) ?? { status: "unavailable" as const, config: null }) : NO_VOICE,
  }));
  return { agents: withVoice, partial: withVoice.some((a) => a.voice.status === "stale" || a.voice.status === "unavailable") };
}

/**
 * The agents list's cache: an aggregate like the dashboard's (fresh 30 s, then stale up to 5 min while it refreshes;
 * when a load fails, e.g. a statement timeout, the last value is answered stale for up to an hour — SPEC §4).
 */
const agentListCache = namespace<AgentList>("agents");

/** SPEC §5: performance over the last 30 local days. */
export const AGENT_PERFORMANCE_DAYS = 30;

/** The agents and their performance, from the cache or loaded: the route and the warm-cache job share this key and loader. */
export function fetchAgentList(ctx: ReadContext): Promise<CacheResult<AgentList>> {
  const { org, now } = ctx;
  const window = resolveWindow({ days: AGENT_PERFORMANCE_DAYS }, org.timezone, now, AGENT_PERFORMANCE_DAYS);
  return agentListCache.fetch(ctx.cache, orgKey(org.id, `${AGENT_PERFORMANCE_DAYS}d`, window.dates[0]), () => agentList({ db: ctx.db, org }, window), {
    asOf: now,
  });
}
