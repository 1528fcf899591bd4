import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../../functions/db/database";
import { MIGRATIONS_FOLDER } from "../../../functions/db/migrate";
import { body, createTestApp, type TestApp } from "../../support/app";

/** SPEC §11: a voice agent id is 1–128 characters of `A–Z a–z 0–9 _ -`, held by one agent of one organization. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** an id no other test of this file (or run) holds */
const voiceId = (label: string) => `${label}_${crypto.randomUUID().replaceAll("-", "")}`;

const agentsOf = async (orgId: string) =>
  rows<{ name: string; voice_agent_id: string | null; description: string | null }>(
    t.database.db,
    sql`SELECT name, voice_agent_id, description FROM agents WHERE org_id = ${orgId} ORDER BY name`,
  );

async function create(key: string, payload: Record<string, unknown>) {
  const res = await t.request("POST", "/api/agents", { key, body: payload });
  return { status: res.status, json: await body(res) };
}

async function patch(key: string, id: string, payload: Record<string, unknown>) {
  const res = await t.request("PATCH", `/api/agents/${id}`, { key, body: payload });
  return { status: res.status, json: await body(res) };
}

function expectConflict(answer: { status: number; json: any }) {
  expect(answer.status, JSON.stringify(answer.json)).toBe(409);
  expect(answer.json).toMatchObject({ type: "urn:tally:problem:conflict", status: 409, errors: [{ path: "voiceAgentId" }] });
}

describe("voiceAgentId belongs to one organization", () => {
  it("answers 409 for creating an agent with another organization's voice agent id, and creates nothing", async () => {
    const a = await t.createOrg({ name: "Holder" });
    const b = await t.createOrg({ name: "Claimant" });
    const taken = voiceId("taken");
    expect((await create(a.writeKey, { name: "Ava", voiceAgentId: taken })).status).toBe(201);

    const answer = await create(b.writeKey, { name: "Spy", voiceAgentId: taken });
    expectConflict(answer);
    expect(JSON.stringify(answer.json), "the answer names nothing of the holder").not.toContain(a.orgId);
    expect(await agentsOf(b.orgId)).toEqual([]);
    expect(await agentsOf(a.orgId)).toEqual([{ name: "Ava", voice_agent_id: taken, description: null }]);
  });

  it("answers 409 for changing an agent to another organization's voice agent id, and changes none of the fields sent", async () => {
    const a = await t.createOrg({ name: "Holder" });
    const b = await t.createOrg({ name: "Claimant" });
    const taken = voiceId("taken");
    const own = voiceId("own");
    await create(a.writeKey, { name: "Ava", voiceAgentId: taken });
    const agent = await create(b.writeKey, { name: "Bea", voiceAgentId: own, description: "before" });

    expectConflict(await patch(b.writeKey, agent.json.data.id, { voiceAgentId: taken, description: "after", name: "Renamed" }));
    expect(await agentsOf(b.orgId)).toEqual([{ name: "Bea", voice_agent_id: own, description: "before" }]);
    expect(await agentsOf(a.orgId)).toEqual([{ name: "Ava", voice_agent_id: taken, description: null }]);
  });

  it("answers 409 for a voice agent id another agent of the same organization holds (one agent per voice agent)", async () => {
    const a = await t.createOrg();
    const shared = voiceId("shared");
    const first = await create(a.writeKey, { name: "Ava", voiceAgentId: shared });
    expectConflict(await create(a.writeKey, { name: "Bo", voiceAgentId: shared }));
    // the holder itself may send its own id again
    expect((await patch(a.writeKey, first.json.data.id, { voiceAgentId: shared, description: "same id" })).status).toBe(200);
    expect(await agentsOf(a.orgId)).toEqual([{ name: "Ava", voice_agent_id: shared, description: "same id" }]);
  });

  it("lets another organization take a voice agent id once its holder lets it go", async () => {
    const a = await t.createOrg();
    const b = await t.createOrg();
    const moving = voiceId("moving");
    const held = await create(a.writeKey, { name: "Ava", voiceAgentId: moving });
    expect((await patch(a.writeKey, held.json.data.id, { voiceAgentId: null })).status).toBe(200);
    const taken = await create(b.writeKey, { name: "Bea", voiceAgentId: moving });
    expect(taken.status, JSON.stringify(taken.json)).toBe(201);
    // agents without a voice agent id are any number
    expect((await create(b.writeKey, { name: "Cy" })).status).toBe(201);
    expect((await create(b.writeKey, { name: "Di", voiceAgentId: null })).status).toBe(201);
  });

  it("gives a voice agent id claimed by two organizations at once to exactly one of them", async () => {
    const orgs = await Promise.all([t.createOrg(), t.createOrg(), t.createOrg()]);
    const contested = voiceId("contested");
    const answers = await Promise.all(orgs.map((org, i) => create(org.writeKey, { name: `Racer ${i}`, voiceAgentId: contested })));
    expect(answers.map((a) => a.status).sort(), JSON.stringify(answers.map((a) => a.json))).toEqual([201, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409)) expectConflict(answer);
    const holders = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM agents WHERE voice_agent_id = ${contested}`);
    expect(holders[0]!.n).toBe(1);
  });
});

describe("voiceAgentId is 1-128 characters of A-Z a-z 0-9 _ -", () => {
  const malformed = ["", "..", "../../v1/user", "a/b", "a b", "a.b", "a?x=1", "%2e%2e", "ä", " va_1", "va_1 ", "x".repeat(129)];

  it("answers 400 listing voiceAgentId for each malformed id, on create and on change, and writes nothing", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const agent = await create(writeKey, { name: "Ava", voiceAgentId: voiceId("ok") });
    const before = await agentsOf(orgId);
    for (const bad of malformed) {
      for (const answer of [await create(writeKey, { name: "New", voiceAgentId: bad }), await patch(writeKey, agent.json.data.id, { voiceAgentId: bad })]) {
        expect(answer.status, `${JSON.stringify(bad)}: ${JSON.stringify(answer.json)}`).toBe(400);
        expect(answer.json.errors.map((e: { path: string }) => e.path)).toEqual(["voiceAgentId"]);
      }
    }
    expect(await agentsOf(orgId)).toEqual(before);
  });

  it("lists a malformed voiceAgentId beside every other offending field", async () => {
    const { writeKey } = await t.createOrg();
    const answer = await create(writeKey, { kind: "robot", voiceAgentId: ".." });
    expect(answer.status).toBe(400);
    expect(answer.json.errors.map((e: { path: string }) => e.path).sort()).toEqual(["kind", "name", "voiceAgentId"]);
  });

  it("accepts the longest and the shortest well-formed ids", async () => {
    const { writeKey } = await t.createOrg();
    const longest = `${crypto.randomUUID().replaceAll("-", "")}${"A-z_9".repeat(19)}`;
    expect(longest).toHaveLength(127);
    expect((await create(writeKey, { name: "Long", voiceAgentId: `${longest}x` })).status).toBe(201);
    const short = await create(writeKey, { name: "Short", voiceAgentId: "Z" });
    expect(short.status, JSON.stringify(short.json)).toBe(201);
  });
});

describe("migration 0003_voice_agent_id_unique on a populated database", () => {
  it("keeps each voice agent id with its oldest holder, frees it on the others, then makes it unique", async () => {
    const db = t.database.db;
    const a = await t.createOrg();
    const b = await t.createOrg();
    const dup = voiceId("dup");
    const solo = voiceId("solo");
    // the database as it was before the migration: no unique index, the id held three times over two organizations
    await db.execute(sql`DROP INDEX agents_voice_agent_id_unique`);
    try {
      await db.execute(sql`
        INSERT INTO agents (org_id, name, voice_agent_id, created_at, updated_at) VALUES
          (${b.orgId}, 'Second', ${dup}, '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z'),
          (${a.orgId}, 'First', ${dup}, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
          (${a.orgId}, 'Third', ${dup}, '2026-01-03T00:00:00Z', '2026-01-03T00:00:00Z'),
          (${b.orgId}, 'Solo', ${solo}, '2026-01-03T00:00:00Z', '2026-01-03T00:00:00Z'),
          (${b.orgId}, 'None', NULL, '2026-01-03T00:00:00Z', '2026-01-03T00:00:00Z')`);
    } finally {
      const migration = readFileSync(join(MIGRATIONS_FOLDER, "0003_voice_agent_id_unique.sql"), "utf8");
      for (const statement of migration.split("--> statement-breakpoint")) await db.execute(sql.raw(statement));
    }
    const after = await rows<{ name: string; voice_agent_id: string | null; moved: boolean }>(
      db,
      sql`SELECT name, voice_agent_id, updated_at > '2026-02-01' AS moved FROM agents WHERE org_id IN (${a.orgId}, ${b.orgId}) ORDER BY name`,
    );
    expect(after).toEqual([
      { name: "First", voice_agent_id: dup, moved: false },
      { name: "None", voice_agent_id: null, moved: false },
      { name: "Second", voice_agent_id: null, moved: true },
      { name: "Solo", voice_agent_id: solo, moved: false },
      { name: "Third", voice_agent_id: null, moved: true },
    ]);
    // and the index it built holds from now on
    expectConflict(await create(b.writeKey, { name: "Again", voiceAgentId: dup }));
  });
});
