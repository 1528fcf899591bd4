import { sql, type SQL } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { organizations } from "../../drizzle/schema";
import { rows, type Db } from "../../functions/db/database";
import { agentTotalsSql, callTotalsSql, type RollupWindow } from "../../functions/rollups/queries";
import { createTestDatabase, type TestDatabase } from "../support/database";

/**
 * What the planner is given to plan on a cache miss (issue #16: planning was as large as execution). The read
 * statements are planned on every request, so a raw part whose bound is B (a subquery) or a dirty bucket must still let
 * the planner drop the month partitions of `calls` outside the window; and the agents list, which answers no
 * milestone or objection figure, must not look its raw calls up in `call_milestones` and `call_objections`.
 */

let database: TestDatabase;
let db: Db;
let orgId: string;
const MONTHS = ["2031-01-01", "2031-02-01", "2031-03-01", "2031-04-01", "2031-05-01", "2031-06-01"];
beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  for (const month of MONTHS) await db.execute(sql`SELECT tally_ensure_month_partition('calls'::regclass, ${month}::date)`);
  const [org] = await db.insert(organizations).values({ name: "plans" }).returning({ id: organizations.id });
  orgId = org!.id;
});
afterAll(async () => {
  await database?.drop();
});

type PlanNode = { "Relation Name"?: string; Plans?: PlanNode[] };
function* relations(node: PlanNode): Generator<string> {
  if (node["Relation Name"]) yield node["Relation Name"];
  for (const child of node.Plans ?? []) yield* relations(child);
}

/** The relations a statement's plan (EXPLAIN, not run) names. */
async function plannedRelations(statement: SQL): Promise<Set<string>> {
  const [row] = await rows<{ "QUERY PLAN": [{ Plan: PlanNode }] | string }>(db, sql`EXPLAIN (FORMAT JSON) ${statement}`);
  const plan = row!["QUERY PLAN"];
  const parsed = (typeof plan === "string" ? JSON.parse(plan) : plan) as [{ Plan: PlanNode }];
  return new Set(relations(parsed[0].Plan));
}

// 30 days across March and April 2031, off the hour at both ends
const window: RollupWindow = { from: new Date("2031-03-10T05:17:00Z"), to: new Date("2031-04-09T04:43:00Z"), timezone: "Asia/Kolkata" };
const windowMonths = new Set(["calls_203103", "calls_203104"]);
const callPartitions = (names: Set<string>) => [...names].filter((n) => /^calls_\d{6}$/.test(n));

describe("the rollup reads' plans", () => {
  it("plan only the calls partitions of the window's months (pruned at plan time, not when run)", async () => {
    for (const statement of [callTotalsSql(orgId, window), agentTotalsSql(orgId, window), agentTotalsSql(orgId, window, "calls")]) {
      const partitions = callPartitions(await plannedRelations(statement));
      expect(partitions.length).toBeGreaterThan(0);
      expect(partitions.filter((p) => !windowMonths.has(p))).toEqual([]);
    }
  });

  it("look raw calls up in call_milestones and call_objections only when the analysis counts are asked for", async () => {
    const withAnalysis = await plannedRelations(agentTotalsSql(orgId, window, "calls-and-analysis"));
    expect(withAnalysis.has("call_milestones") && withAnalysis.has("call_objections")).toBe(true);
    const callsOnly = await plannedRelations(agentTotalsSql(orgId, window, "calls"));
    expect([...callsOnly].filter((r) => r === "call_milestones" || r === "call_objections")).toEqual([]);
  });
});
