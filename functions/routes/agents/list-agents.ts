import { createRoute, z } from "@hono/zod-openapi";
import { AGENT_KINDS, AGENT_STATUSES } from "../../../drizzle/schema/enums";
import type { App } from "../../app";
import { orgKey } from "../../cache/namespaces";
import type { AppEnv } from "../../deps";
import { requireOrg } from "../../middleware/auth";
import { aggregateMeta } from "../../lib/respond";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { resolveWindow } from "../../lib/windows";
import { agentList, agentListCache, attachVoice, type VoiceConfigLookup } from "../../read-models/agents";

/** SPEC §5: performance over the last 30 local days. */
export const AGENT_PERFORMANCE_DAYS = 30;

const rate = z.number().min(0).max(1).nullable();

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
      status: z.enum(["ok", "stale", "unavailable", "none"]),
      config: z.record(z.string(), z.unknown()).nullable(),
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
 * Where the voice-provider lookup plugs in (SPEC §9). No provider is wired into the app's dependencies yet, so every
 * agent answers `voice.status: "none"`; when one is, this answers a lookup over it and nothing else changes.
 */
function voiceConfigLookup(_c: { var: AppEnv["Variables"] }): VoiceConfigLookup | undefined {
  return undefined;
}

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.var.auth);
    const now = c.var.deps.clock.now();
    const window = resolveWindow({ days: AGENT_PERFORMANCE_DAYS }, org.timezone, now, AGENT_PERFORMANCE_DAYS);
    const result = await agentListCache.fetch(
      c.var.deps.cache,
      orgKey(org.id, `${AGENT_PERFORMANCE_DAYS}d`, window.dates[0]),
      () => agentList({ db: c.var.db, org }, window),
      { asOf: now },
    );
    c.set("cacheStatus", result.status);
    const { agents, partial } = await attachVoice(result.value.agents, voiceConfigLookup(c));
    const data = agents.map(({ voiceAgentId: _internal, ...agent }) => agent);
    const meta = aggregateMeta(result, { partial, from: result.value.from, to: result.value.to });
    return c.json(agentListResponse.parse({ data, meta }), 200);
  });
}
