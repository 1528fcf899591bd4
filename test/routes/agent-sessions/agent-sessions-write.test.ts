import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { insertAgents } from "../../support/fixtures";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const NOW = "2026-03-10T12:00:00.000Z";
const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

const sessionsOf = async (orgId: string) =>
  rows<{ started_at: Date; ended_at: Date | null }>(
    t.database.db,
    sql`SELECT started_at, ended_at FROM agent_sessions WHERE org_id = ${orgId} ORDER BY started_at`,
  );

async function orgWithAgent() {
  const org = await t.createOrg();
  const [agent] = await insertAgents(t.database.db, org.orgId, [{ name: "Ava" }]);
  return { ...org, agentId: agent!.id };
}

describe("POST /api/agent-sessions", () => {
  it("opens a session starting now when startedAt is not sent", async () => {
    const { writeKey, orgId, agentId } = await orgWithAgent();
    const res = await t.request("POST", "/api/agent-sessions", { key: writeKey, body: { agentId } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ agentId, startedAt: NOW, endedAt: null });
    expect(json.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sessionsOf(orgId)).toHaveLength(1);
  });

  it("records a whole past session", async () => {
    const { writeKey, agentId } = await orgWithAgent();
    const res = await t.request("POST", "/api/agent-sessions", {
      key: writeKey,
      body: { agentId, startedAt: "2026-03-09T08:00:00Z", endedAt: "2026-03-09T16:30:00Z" },
    });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ startedAt: "2026-03-09T08:00:00.000Z", endedAt: "2026-03-09T16:30:00.000Z" });
  });

  it.each([
    ["a missing agent id", { agentId: undefined }, "agentId"],
    ["a malformed agent id", { agentId: "agent-1" }, "agentId"],
    ["an impossible date", { startedAt: "2026-02-30T08:00:00Z" }, "startedAt"],
    ["a date without offset", { startedAt: "2026-03-09T08:00:00" }, "startedAt"],
    ["a wrong type", { endedAt: 1741507200 }, "endedAt"],
    ["an end before the start", { startedAt: "2026-03-09T08:00:00Z", endedAt: "2026-03-09T07:59:59Z" }, "endedAt"],
    ["an unknown field", { online: true }, ""],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const { writeKey, orgId, agentId } = await orgWithAgent();
    const res = await t.request("POST", "/api/agent-sessions", { key: writeKey, body: { agentId, ...payload } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await sessionsOf(orgId)).toHaveLength(0);
  });

  it("answers 400 for malformed JSON, 401 without a key, 403 for a read key", async () => {
    const { writeKey, readKey, orgId, agentId } = await orgWithAgent();
    expect((await t.request("POST", "/api/agent-sessions", { key: writeKey, rawBody: "{agentId}" })).status).toBe(400);
    expect((await t.request("POST", "/api/agent-sessions", { key: null, body: { agentId } })).status).toBe(401);
    expect((await t.request("POST", "/api/agent-sessions", { key: readKey, body: { agentId } })).status).toBe(403);
    expect(await sessionsOf(orgId)).toHaveLength(0);
  });

  it("answers 404 for another organization's agent and writes nothing", async () => {
    const a = await orgWithAgent();
    const b = await orgWithAgent();
    const res = await t.request("POST", "/api/agent-sessions", { key: b.writeKey, body: { agentId: a.agentId } });
    expect(res.status, await res.clone().text()).toBe(404);
    expect(await sessionsOf(a.orgId)).toHaveLength(0);
    expect(await sessionsOf(b.orgId)).toHaveLength(0);
  });
});

describe("PATCH /api/agent-sessions/{id}", () => {
  it("ends an open session; an empty PATCH changes nothing", async () => {
    const { writeKey, orgId, agentId } = await orgWithAgent();
    const opened = await body(await t.request("POST", "/api/agent-sessions", { key: writeKey, body: { agentId, startedAt: "2026-03-10T09:00:00Z" } }));
    const res = await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: writeKey, body: { endedAt: "2026-03-10T11:15:00Z" } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ id: opened.data.id, agentId, startedAt: "2026-03-10T09:00:00.000Z", endedAt: "2026-03-10T11:15:00.000Z" });
    const empty = await body(await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: writeKey, body: {} }));
    expect(empty.data).toEqual(json.data);
    expect((await sessionsOf(orgId))[0]!.ended_at).not.toBeNull();
  });

  it("answers 400 for an end before the start and leaves the session open", async () => {
    const { writeKey, orgId, agentId } = await orgWithAgent();
    const opened = await body(await t.request("POST", "/api/agent-sessions", { key: writeKey, body: { agentId, startedAt: "2026-03-10T09:00:00Z" } }));
    const res = await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: writeKey, body: { endedAt: "2026-03-10T08:00:00Z" } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(json.errors).toEqual([{ path: "endedAt", message: expect.any(String) }]);
    for (const bad of [{ endedAt: "yesterday" }, { endedAt: null }, { startedAt: "2026-03-10T08:00:00Z" }])
      expect((await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: writeKey, body: bad })).status).toBe(400);
    expect((await t.request("PATCH", "/api/agent-sessions/123", { key: writeKey, body: { endedAt: NOW } })).status).toBe(400);
    expect((await sessionsOf(orgId))[0]!.ended_at).toBeNull();
  });

  it("answers 404 for another organization's session, 403 for a read key, and changes nothing", async () => {
    const a = await orgWithAgent();
    const b = await orgWithAgent();
    const opened = await body(await t.request("POST", "/api/agent-sessions", { key: a.writeKey, body: { agentId: a.agentId } }));
    expect((await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: b.writeKey, body: { endedAt: NOW } })).status).toBe(404);
    expect((await t.request("PATCH", `/api/agent-sessions/${opened.data.id}`, { key: a.readKey, body: { endedAt: NOW } })).status).toBe(403);
    expect((await sessionsOf(a.orgId))[0]!.ended_at).toBeNull();
  });
});
