import { sql } from "drizzle-orm";
import type { AGENT_KINDS, AGENT_STATUSES } from "../../drizzle/schema/enums";
import { rows, type Db } from "../db/database";
import { AGENT_PART_SUMS, agentPartsSql, agentTotalsFromRow, type AgentCounters, type AgentTotals, type RollupWindow } from "../rollups/queries";

/**
 * The per-agent sums the agents list and the agent variance share: the organization's agents, each with its
 * counters over a window from the rollup layer (`agentPartsSql`: clean daily and hourly rollup rows plus the raw calls
 * they do not cover, at most five part rows per agent), the part rows LEFT JOINed onto `agents` and summed per agent in
 * one GROUP BY. One statement whatever the number of agents. Window totals do not depend on the zone (hourly buckets
 * are UTC), so the window is the instants alone.
 *
 * Issue #16: the statement runs as a generic plan, which estimates ~20 agents (the table's average per organization)
 * and ~67 per-agent totals; it joined `agents` to the grouped totals (`agentTotalsSql`) and to `users` by nested loops
 * over materialized rows (200 × 91 and 200 × 65 join-filter rows at the largest organization: ~1.1 ms of the variance's
 * 4.4). Joined to the part rows themselves (~444 estimated), the plan hashes.
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
  // the agents list filters in WHERE; the variance keeps an archived agent when its calls in the window sum above 0
  const where = selection === "not-archived" ? sql`AND a.status <> 'archived'` : sql``;
  const having = selection === "not-archived" ? sql`` : sql`HAVING a.status <> 'archived' OR coalesce(sum(p.calls), 0) > 0`;
  const found = await rows<Row>(
    db,
    sql`
    WITH parts AS MATERIALIZED (${agentPartsSql(orgId, { ...window, timezone: "UTC" }, counters)})
    SELECT a.id, a.name, a.kind, a.status, a.description, a.voice_agent_id,
           u.id AS user_id, u.name AS user_name, u.email AS user_email,
           ${AGENT_PART_SUMS}
      FROM agents a
      LEFT JOIN users u ON u.id = a.user_id AND u.org_id = a.org_id
      LEFT JOIN parts p ON p.agent_id = a.id
     WHERE a.org_id = ${orgId}::uuid ${where}
     GROUP BY a.id, u.id
     ${having}
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
