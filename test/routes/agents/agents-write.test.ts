import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { users } from "../../../drizzle/schema";
import { rows } from "../../../functions/db/database";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const agentsOf = async (orgId: string) =>
  rows<{ name: string; status: string; updated_at: Date }>(
    t.database.db,
    sql`SELECT name, status, updated_at FROM agents WHERE org_id = ${orgId} ORDER BY name`,
  );

const insertUser = async (orgId: string, name: string) => {
  const [row] = await t.database.db
    .insert(users)
    .values({ orgId, name, email: `${name}-${crypto.randomUUID()}@example.com` })
    .returning({ id: users.id });
  return row!.id;
};

describe("POST /api/agents", () => {
  it("creates an agent with defaults and answers it with its id", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/agents", { key: writeKey, body: { name: "Ava" } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ name: "Ava", kind: "ai", status: "draft", voiceAgentId: null, description: null, userId: null });
    expect(json.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await agentsOf(orgId)).toHaveLength(1);
  });

  it("creates a human agent tied to a user of the organization", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const userId = await insertUser(orgId, "hugo");
    const res = await t.request("POST", "/api/agents", {
      key: writeKey,
      body: { name: "Hugo", kind: "human", status: "active", userId, voiceAgentId: "va_123", description: "Front desk" },
    });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ kind: "human", status: "active", userId, voiceAgentId: "va_123", description: "Front desk" });
  });

  it("answers 404 for a user of another organization and creates nothing", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    const foreignUser = await insertUser(b.orgId, "bob");
    const res = await t.request("POST", "/api/agents", { key: a.writeKey, body: { name: "X", userId: foreignUser } });
    expect(res.status, await res.clone().text()).toBe(404);
    expect(await agentsOf(a.orgId)).toHaveLength(0);
  });

  it.each([
    ["a missing name", {}, "name"],
    ["an empty name", { name: "  " }, "name"],
    ["an unknown kind", { name: "A", kind: "robot" }, "kind"],
    ["an unknown status", { name: "A", status: "retired" }, "status"],
    ["a wrong type", { name: 42 }, "name"],
    ["a malformed user id", { name: "A", userId: "nope" }, "userId"],
    ["an unknown field", { name: "A", colour: "red" }, ""],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/agents", { key: writeKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await agentsOf(orgId)).toHaveLength(0);
  });

  it("answers 400 for malformed JSON, listing every offending field otherwise", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const malformed = await t.request("POST", "/api/agents", { key: writeKey, rawBody: '{"name": "A"' });
    expect(malformed.status).toBe(400);
    expect((await body(malformed)).title).toBe("Malformed JSON");
    const many = await body(await t.request("POST", "/api/agents", { key: writeKey, body: { kind: "robot", status: 1 } }));
    expect(many.errors.map((e: { path: string }) => e.path).sort()).toEqual(["kind", "name", "status"]);
    expect(await agentsOf(orgId)).toHaveLength(0);
  });

  it("answers 401 without a key, 403 for a read key and for an admin key", async () => {
    const { readKey, orgId } = await t.createOrg();
    expect((await t.request("POST", "/api/agents", { key: null, body: { name: "A" } })).status).toBe(401);
    expect((await t.request("POST", "/api/agents", { key: readKey, body: { name: "A" } })).status).toBe(403);
    expect((await t.request("POST", "/api/agents", { body: { name: "A" } })).status).toBe(403);
    expect(await agentsOf(orgId)).toHaveLength(0);
  });
});

describe("PATCH /api/agents/{id}", () => {
  it("changes only the fields sent; an empty PATCH changes only updatedAt", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const userId = await insertUser(orgId, "uma");
    const created = await body(await t.request("POST", "/api/agents", { key: writeKey, body: { name: "Ava", description: "first", voiceAgentId: "va_1" } }));
    const id = created.data.id;
    const res = await t.request("PATCH", `/api/agents/${id}`, { key: writeKey, body: { status: "paused", userId, voiceAgentId: null } });
    const patched = await body(res);
    expect(res.status, JSON.stringify(patched)).toBe(200);
    expect(patched.data).toMatchObject({ id, name: "Ava", description: "first", status: "paused", userId, voiceAgentId: null, kind: "ai" });
    const empty = await body(await t.request("PATCH", `/api/agents/${id}`, { key: writeKey, body: {} }));
    expect({ ...empty.data, updatedAt: undefined }).toEqual({ ...patched.data, updatedAt: undefined });
    expect(Date.parse(empty.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(patched.data.updatedAt));
  });

  it("answers 404 for another organization's agent or user and changes nothing", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    const agent = await body(await t.request("POST", "/api/agents", { key: a.writeKey, body: { name: "Ava" } }));
    const own = await body(await t.request("POST", "/api/agents", { key: b.writeKey, body: { name: "Bea" } }));
    expect((await t.request("PATCH", `/api/agents/${agent.data.id}`, { key: b.writeKey, body: { name: "Hijacked" } })).status).toBe(404);
    const foreignUser = await insertUser(a.orgId, "al");
    expect((await t.request("PATCH", `/api/agents/${own.data.id}`, { key: b.writeKey, body: { userId: foreignUser } })).status).toBe(404);
    expect((await t.request("PATCH", `/api/agents/${crypto.randomUUID()}`, { key: b.writeKey, body: { name: "Ghost" } })).status).toBe(404);
    expect((await agentsOf(a.orgId)).map((r) => r.name)).toEqual(["Ava"]);
    expect((await agentsOf(b.orgId)).map((r) => r.name)).toEqual(["Bea"]);
  });

  it("answers 400 for a bad id, unknown enum or wrong type and changes nothing", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const agent = await body(await t.request("POST", "/api/agents", { key: writeKey, body: { name: "Ava" } }));
    expect((await t.request("PATCH", "/api/agents/not-a-uuid", { key: writeKey, body: { name: "B" } })).status).toBe(400);
    expect((await t.request("PATCH", `/api/agents/${agent.data.id}`, { key: writeKey, body: { status: "gone" } })).status).toBe(400);
    expect((await t.request("PATCH", `/api/agents/${agent.data.id}`, { key: writeKey, body: { name: null } })).status).toBe(400);
    expect((await t.request("PATCH", `/api/agents/${agent.data.id}`, { key: writeKey, rawBody: "[" })).status).toBe(400);
    expect(await agentsOf(orgId)).toMatchObject([{ name: "Ava", status: "draft" }]);
  });

  it("answers 403 for a read key", async () => {
    const { writeKey, readKey } = await t.createOrg();
    const agent = await body(await t.request("POST", "/api/agents", { key: writeKey, body: { name: "Ava" } }));
    expect((await t.request("PATCH", `/api/agents/${agent.data.id}`, { key: readKey, body: { name: "B" } })).status).toBe(403);
  });
});
