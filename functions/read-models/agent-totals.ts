import { sql } from "drizzle-orm";
import type { AGENT_KINDS, AGENT_STATUSES } from "../../drizzle/schema/enums";
import { rows, type Db } from "../db/database";
import { agentTotalsFromRow, agentTotalsSql, type AgentCounters, type AgentTotals, type RollupWindow } from "../rollups/queries";

/**
 * The per-agent sums the agents list and the agent variance share: the organization's agents, each with its
 * counters over a window from the rollup layer (`agentTotalsSql`: clean hourly rollup rows plus the raw calls they do
 * not cover), LEFT JOINed onto `agents`. One statement whatever the number of agents. Window totals do not depend on
 * the zone (hourly buckets are UTC), so the window is the instants alone.
 */

type AgentKind = (typeof AGENT_KINDS)[number];
type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * Which agents a read answers: the non-archived ones (the agents list), or those and every archived agent with a
 * call in the window (the variance: they made those calls).
 */
export type AgentSelection = "not-archived" | "not-archived-or-with-calls";

export type AgentWithTotals = {
  id: string;
  name: string;
  kind: AgentKind;
  status: AgentStatus;
  description: string | null;
  /** the provider's id; used to look up the voice config, never answered */
  voiceAgentId: string | null;
  user: { id: string; name: string; email: string } | null;
  /** zeros when the agent has no call in the window */
  totals: AgentTotals;
};

type Row = {
  id: string;
  name: string;
  kind: AgentKind;
  status: AgentStatus;
  description: string | null;
  voice_agent_id: string | null;
  user_id: string | null;
  user_name: string | null;
  user_email: string | null;
} & Omit<Parameters<typeof agentTotalsFromRow>[0], "agent_id">;

/**
 * The organization's agents of `selection`, by name, with their totals in `window`: one statement. With `counters`
 * `calls` (the agents list) the analysis counts (milestones, objections) are not read and answer 0.
 */
export async function agentsWithTotals(
  db: Db,
  orgId: string,
  window: Pick<RollupWindow, "from" | "to">,
  selection: AgentSelection,
  counters: AgentCounters,
): Promise<AgentWithTotals[]> {
  const selected = selection === "not-archived" ? sql`a.status <> 'archived'` : sql`(a.status <> 'archived' OR t.agent_id IS NOT NULL)`;
  const found = await rows<Row>(
    db,
    sql`
    SELECT a.id, a.name, a.kind, a.status, a.description, a.voice_agent_id,
           u.id AS user_id, u.name AS user_name, u.email AS user_email,
           coalesce(t.calls, 0) AS calls,
           coalesce(t.completed, 0) AS completed,
           coalesce(t.duration_completed_sum, 0) AS duration_completed_sum,
           coalesce(t.scored, 0) AS scored,
           coalesce(t.score_sum, 0) AS score_sum,
           coalesce(t.booked, 0) AS booked,
           coalesce(t.credits_used, 0) AS credits_used,
           coalesce(t.milestones, 0) AS milestones,
           coalesce(t.milestones_achieved, 0) AS milestones_achieved,
           coalesce(t.objections, 0) AS objections,
           coalesce(t.objections_handled, 0) AS objections_handled
      FROM agents a
      LEFT JOIN users u ON u.id = a.user_id AND u.org_id = a.org_id
      LEFT JOIN (${agentTotalsSql(orgId, { ...window, timezone: "UTC" }, counters)}) t ON t.agent_id = a.id
     WHERE a.org_id = ${orgId}::uuid AND ${selected}
     ORDER BY a.name, a.id`,
  );
  return found.map((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    status: r.status,
    description: r.description,
    voiceAgentId: r.voice_agent_id,
    user: r.user_id ? { id: r.user_id, name: r.user_name!, email: r.user_email! } : null,
    totals: agentTotalsFromRow({ ...r, agent_id: r.id }),
  }));
}
