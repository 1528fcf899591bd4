import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { endTime, startTime } from "hono/timing";
import { AGENT_KINDS, AGENT_STATUSES } from "../../../drizzle/schema/enums";
import { aggregateMeta, checkedAnswer } from "../../lib/respond";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { attachVoice, fetchAgentList, voiceConfigLookupOver, type VoiceConfigLookup } from "../../read-models/agents";
import type { App, AppEnv } from "../../hono/env";
import { readContext } from "../../middleware/request-context";

const rate = z.number().min(0).max(1).nullable();

/** What Tally shows of an agent's configuration at the voice provider (`VoiceAgentConfig`). */
export const voiceAgentConfigSchema = z
  .object({
    voiceAgentId: z.string(),
    name: z.string(),
    voiceId: z.string().nullable(),
    ttsModel: z.string().nullable(),
    language: z.string().nullable(),
    firstMessage: z.string().nullable(),
    llm: z.string().nullable(),
  })
  .openapi("VoiceAgentConfig");

export const agentListItemSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(AGENT_KINDS),
    status: z.enum(AGENT_STATUSES),
    description: z.string().nullable(),
    user: z.object({ id: z.uuid(), name: z.string(), email: z.string() }).nullable(),
    performance: z.object({
      calls: z.number().int(),
      completed: z.number().int(),
      successRate: rate,
      avgDurationSec: z.number().nullable(),
      avgLeadScore: z.number().nullable(),
      creditsUsed: z.number().int(),
    }),
    voice: z.object({
      status: z.enum(["ok", "stale", "unavailable", "none"]).openapi({
        description:
          "ok: from the provider within the latency budget or its fresh cache; stale: an older cached config (the provider did not answer in time); unavailable: no config could be had (no answer in time and nothing cached, or the provider has no agent by this id); none: the agent has no voice agent id, or no provider is configured",
      }),
      config: voiceAgentConfigSchema.nullable(),
    }),
  })
  .openapi("AgentListItem");

export const agentListResponse = z.object({
  data: z.array(agentListItemSchema),
  meta: z.object({
    asOf: z.string(),
    cache: z.enum(["hit", "miss", "stale", "bypass"]),
    ttlSec: z.number(),
    partial: z.boolean().openapi({ description: "some voice config is stale or unavailable (SPEC §9)" }),
    from: z.string(),
    to: z.string(),
  }),
});
export type AgentListResponse = z.infer<typeof agentListResponse>;

/** No parameters: the window is fixed (SPEC §5), and input is strict, so `?days=7` is refused rather than ignored. */
export const agentListQuery = z.object({}).strict();

export const route = createRoute({
  method: "get",
  path: "/api/agents",
  summary: "Every non-archived agent by name, with its user, its last-30-days performance and its voice config",
  tags: ["agents"],
  security: bearer,
  request: { query: agentListQuery },
  responses: { 200: jsonResponse("The agents", agentListResponse), ...errorResponses },
});

/**
 * The voice-provider lookup of this request (SPEC §9), or none when the runtime wired no provider (every agent then
 * answers `voice.status: "none"`). It waits `deps.voiceBudgetMs` at most (the service's default, 300 ms, when unset);
 * on Workers the refreshes still running at the budget go on through the invocation's `waitUntil` to fill the cache.
 */
function voiceConfigLookup(c: Context<AppEnv>, orgId: string): VoiceConfigLookup | undefined {
  const { voice, voiceBudgetMs } = c.get("deps");
  if (!voice) return undefined;
  const waitUntil = executionWaitUntil(c);
  return voiceConfigLookupOver(voice, orgId, {
    ...(voiceBudgetMs === undefined ? {} : { budgetMs: voiceBudgetMs }),
    ...(waitUntil ? { waitUntil } : {}),
  });
}

/** The Workers invocation's `waitUntil`; Node has no execution context (Hono throws on reading it). */
function executionWaitUntil(c: Context<AppEnv>): ((promise: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return undefined;
  }
}

export function register(app: App) {
  app.openapi(route, async (c) => {
    const ctx = readContext(c);
    const result = await fetchAgentList(ctx);
    c.set("cacheStatus", result.status);
    // the voice part is attached per request, outside the cached aggregate: the config service has its own cache, and
    // a stale or unavailable config must not be frozen for the aggregate's TTL
    startTime(c, "voice");
    const { agents, partial } = await attachVoice(result.value.agents, voiceConfigLookup(c, ctx.org.id));
    endTime(c, "voice");
    const data = agents.map(({ voiceAgentId: _internal, ...agent }) => agent);
    const meta = aggregateMeta(result, { partial, from: result.value.from, to: result.value.to });
    // as the other aggregates: checked against the schema where responses are validated (the tests), sent as built in
    // production, where parsing 200 agents cost 0.2–0.6 ms of every answer, hit or miss, in profiles at load 6–10
    // (issue #16 item 1). The voice configs are built field by field (`toVoiceAgentConfig`): nothing of the
    // provider's passes unnamed.
    return c.json(checkedAnswer(c.get("deps").validateResponses, agentListResponse, { data, meta }), 200);
  });
}
