import { describe, expect, it } from "vitest";
import { ManualClock } from "../../support/app";
import { insertAgents, insertCalls, type CallSeed } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";

/**
 * Query budgets of the agent and calls read models: a route's statement count must not grow with the number of
 * agents. Counts come from the request log line (`statements`) and include auth's: one statement the first time a key
 * is seen, none while its grant is cached (the clock stands still here, so it stays cached).
 */
const NOW = new Date("2026-03-16T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

/** auth of a key's first request (its grant is loaded), and of every later one (served from the grant cache) */
const AUTH_FIRST = 1;
const AUTH = 0;
/** Statements besides auth, on a cache miss (aggregates) or any request (the uncached calls list and lookups). */
const BUDGET = { agents: 1, variance: 1, agentPerformance: 1, overviewCompared: 1, callsList: 2, callsByPhone: 2, reconnect: 1, route: 2 } as const;

async function statements(method: string, path: string, key: string, payload?: unknown) {
  const res = await t.request(method, path, { key, ...(payload === undefined ? {} : { body: payload }) });
  const text = await res.clone().text();
  expect(res.status, text).toBe(200);
  const requestId = res.headers.get("x-request-id");
  const line = t.logs.find((l) => (l.msg === "request" || l.msg === "slow request") && l.requestId === requestId);
  expect(line, `no request log line for ${path}`).toBeDefined();
  return { count: line!.statements as number, json: JSON.parse(text) };
}

describe.each([1, 50, 500])("statement budget with %i agents", (agentCount) => {
  it("holds every route to its budget, on a miss and on a hit", async () => {
    const org = await t.createOrg({ timezone: "America/New_York" });
    const agents = await insertAgents(
      t.database.db,
      org.orgId,
      Array.from({ length: agentCount }, (_, i) => ({ name: `Agent ${i}`, status: i % 10 === 9 ? ("archived" as const) : ("active" as const) })),
    );
    const seeds: CallSeed[] = agents.flatMap((a, i) => [
      {
        agentId: a.id,
        startedAt: new Date(NOW.getTime() - (i + 1) * 60_000),
        leadScore: i % 100,
        outcome: "appointment_booked" as const,
        durationSec: 60,
        milestones: [{ key: "greeting", achieved: i % 2 === 0 }],
        objections: [{ kind: "price", handled: true }],
      },
      {
        agentId: a.id,
        startedAt: new Date(NOW.getTime() - (i + 1) * 3_600_000),
        status: "missed" as const,
        contactIndex: 1,
        reconnectToken: i === 0 ? "tok-budget-0001" : null,
        reconnectEligible: i === 0,
      },
    ]);
    seeds[1] = { ...seeds[1]!, status: "in_progress" };
    await insertCalls(t.database.db, org.orgId, seeds);

    const agentsMiss = await statements("GET", "/api/agents", org.readKey);
    expect(agentsMiss.json.data).toHaveLength(agents.length - Math.floor(agentCount / 10));
    expect(agentsMiss.json.meta.cache).toBe("miss");
    expect(agentsMiss.count).toBe(AUTH_FIRST + BUDGET.agents);
    expect((await statements("GET", "/api/agents", org.readKey)).count).toBe(AUTH);

    const varianceMiss = await statements("GET", "/api/analytics/agent-variance?days=30", org.readKey);
    expect(varianceMiss.json.data.agents).toHaveLength(agentCount);
    expect(varianceMiss.count).toBe(AUTH + BUDGET.variance);
    expect((await statements("GET", "/api/analytics/agent-variance?days=30", org.readKey)).count).toBe(AUTH);

    const performancePath = `/api/agents/${agents[0]!.id}/performance?days=30`;
    const performanceMiss = await statements("GET", performancePath, org.readKey);
    expect(performanceMiss.json.data.totals.calls).toBe(2);
    expect(performanceMiss.count).toBe(AUTH + BUDGET.agentPerformance);
    expect((await statements("GET", performancePath, org.readKey)).count).toBe(AUTH);

    const comparedMiss = await statements("GET", "/api/dashboard/overview?days=30&compare=previous", org.readKey);
    expect(comparedMiss.json.meta.cache).toBe("miss");
    expect(comparedMiss.count).toBe(AUTH + BUDGET.overviewCompared);

    const firstPage = await statements("GET", "/api/calls?limit=100", org.readKey);
    expect(firstPage.json.meta.total).toBe(2 * agentCount);
    expect(firstPage.count).toBe(AUTH + BUDGET.callsList);
    if (firstPage.json.meta.nextCursor) {
      const next = await statements("GET", `/api/calls?limit=100&status=missed&cursor=${firstPage.json.meta.nextCursor}`, org.readKey);
      expect(next.count).toBe(AUTH + BUDGET.callsList);
    }
    expect((await statements("GET", `/api/contacts/by-phone/%2B14155550001/calls`, org.readKey)).count).toBe(AUTH + BUDGET.callsByPhone);
    expect((await statements("POST", "/api/calls/reconnect", org.readKey, { token: "tok-budget-0001" })).count).toBe(AUTH + BUDGET.reconnect);

    const put = await t.request("PUT", "/api/inbound-config", {
      key: org.writeKey,
      body: {
        defaultAgentId: agents[0]!.id,
        afterHoursAgentId: agents[1 % agentCount]!.id,
        businessHours: {},
        rules: agents.slice(0, 20).map((a, i) => ({ prefix: `+1${i}`, agentId: a.id })),
      },
    });
    expect(put.status, await put.clone().text()).toBe(200);
    const routeMiss = await statements("POST", "/api/calls/route", org.readKey, { phoneNumber: "+14155550123" });
    expect(routeMiss.count).toBe(AUTH + BUDGET.route);
    expect((await statements("POST", "/api/calls/route", org.readKey, { phoneNumber: "+14155550123" })).count).toBe(AUTH + BUDGET.route - 1);
  });
});
