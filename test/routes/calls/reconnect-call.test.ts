import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows, type Db } from "../../../functions/db/database";
import { body, ManualClock } from "../../support/app";
import { insertAgents, insertCalls } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-15T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

const live = { status: "in_progress" as const, reconnectEligible: true, endedAt: null, startedAt: new Date(NOW.getTime() - 60_000) };

describe("POST /api/calls/reconnect", () => {
  it("answers the call a token may resume, to a read key, without the token", async () => {
    const { orgId, readKey } = await t.createOrg();
    const [agent] = await insertAgents(t.database.db, orgId, [{ name: "Ann" }]);
    const [call] = await insertCalls(t.database.db, orgId, [{ ...live, agentId: agent!.id, reconnectToken: "tok-resume-0001" }]);
    const res = await t.request("POST", "/api/calls/reconnect", { key: readKey, body: { token: "tok-resume-0001" } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({
      id: call!.id,
      status: "in_progress",
      reconnectEligible: true,
      endedAt: null,
      agent: { id: agent!.id, name: "Ann" },
      contact: { phone: "+14155550000" },
    });
    expect(JSON.stringify(json)).not.toContain("tok-resume-0001");
    expect(t.logs.find((l) => (l.msg === "request" || l.msg === "slow request") && l.requestId === res.headers.get("x-request-id"))?.statements).toBe(2);
  });

  it.each([
    ["ended", { endedAt: new Date(NOW.getTime() - 1000) }],
    ["not eligible", { reconnectEligible: false }],
    ["completed", { status: "completed" as const }],
    ["ringing", { status: "ringing" as const }],
  ])("answers 404 for a call that is %s", async (_what, change) => {
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [{ ...live, ...change, reconnectToken: "tok-resume-0002" }]);
    const res = await t.request("POST", "/api/calls/reconnect", { key: readKey, body: { token: "tok-resume-0002" } });
    expect(res.status, await res.clone().text()).toBe(404);
  });

  it("answers 404 for an unknown token and for another organization's token", async () => {
    const a = await t.createOrg();
    const b = await t.createOrg();
    await insertCalls(t.database.db, a.orgId, [{ ...live, reconnectToken: "tok-resume-0003" }]);
    expect((await t.request("POST", "/api/calls/reconnect", { key: b.readKey, body: { token: "tok-resume-0003" } })).status).toBe(404);
    expect((await t.request("POST", "/api/calls/reconnect", { key: a.readKey, body: { token: "tok-unknown-0003" } })).status).toBe(404);
    expect((await t.request("POST", "/api/calls/reconnect", { key: a.readKey, body: { token: "tok-resume-0003" } })).status).toBe(200);
  });

  it("can find the call through the partial index on reconnect_token", async () => {
    const { orgId } = await t.createOrg();
    const plan = await t.database.db.transaction(async (tx) => {
      // a near-empty table is cheaper to scan: forbid that to see that the index serves the lookup
      await tx.execute(sql`SET LOCAL enable_seqscan = off`);
      return rows<{ "QUERY PLAN": string }>(
        tx as unknown as Db,
        sql`EXPLAIN SELECT id FROM calls WHERE reconnect_token = 'tok' AND org_id = ${orgId} AND reconnect_eligible AND ended_at IS NULL AND status = 'in_progress'`,
      );
    });
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/Index Scan using calls_\w*reconnect_token\w*/);
  });

  it.each([
    [{}, ["token"]],
    [{ token: "" }, ["token"]],
    [{ token: 42 }, ["token"]],
    [{ token: "x".repeat(201) }, ["token"]],
    [{ token: "tok-resume-0004", extra: true }, [""]],
  ])("answers 400 for the body %j", async (payload, paths) => {
    const { readKey } = await t.createOrg();
    const res = await t.request("POST", "/api/calls/reconnect", { key: readKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.map((e: { path: string }) => e.path),
      JSON.stringify(json),
    ).toEqual(paths);
  });

  it("answers 400 for malformed JSON", async () => {
    const { readKey } = await t.createOrg();
    const res = await t.request("POST", "/api/calls/reconnect", { key: readKey, rawBody: "{token" });
    expect(res.status).toBe(400);
  });
});
