import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const countCalls = async (orgId: string) => (await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}`))[0]!.n;

describe("POST /api/calls", () => {
  it("creates a call and its contact, and reads it back", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/calls", {
      key: writeKey,
      body: {
        phoneNumber: "+14155550123",
        contactName: "Ada",
        direction: "inbound",
        status: "completed",
        startedAt: "2026-03-01T09:30:00Z",
        endedAt: "2026-03-01T09:35:00Z",
        durationSec: 300,
        creditsUsed: 12,
      },
    });
    const created = await body(res);
    expect(res.status, JSON.stringify(created)).toBe(201);
    expect(created.data).toMatchObject({ phoneNumber: "+14155550123", status: "completed", durationSec: 300, startedAt: "2026-03-01T09:30:00.000Z" });
    expect(created.data).not.toHaveProperty("reconnectToken");
    const read = await t.request("GET", `/api/calls/${created.data.id}`, { key: writeKey });
    const got = await body(read);
    expect(read.status, JSON.stringify(got)).toBe(200);
    expect(got.data.contact).toMatchObject({ name: "Ada", phone: "+14155550123" });
    expect(got.data.agent).toBeNull();
    expect(await countCalls(orgId)).toBe(1);
  });

  it("upserts by externalId: a second delivery changes only the fields sent", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const first = await t.request("POST", "/api/calls", {
      key: writeKey,
      body: { externalId: "ext-1", phoneNumber: "+14155550124", direction: "outbound", status: "in_progress", startedAt: "2026-03-01T10:00:00Z" },
    });
    expect(first.status).toBe(201);
    const second = await t.request("POST", "/api/calls", { key: writeKey, body: { externalId: "ext-1", status: "completed", durationSec: 42 } });
    const json = await body(second);
    expect(second.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ externalId: "ext-1", status: "completed", durationSec: 42, direction: "outbound", phoneNumber: "+14155550124" });
    expect(await countCalls(orgId)).toBe(1);
  });

  it("answers 400 listing every missing field when a new call lacks phoneNumber, direction and status", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/calls", { key: writeKey, body: { externalId: "nope" } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path).sort()).toEqual(["direction", "phoneNumber", "status"]);
    expect(await countCalls(orgId)).toBe(0);
  });

  it.each([
    ["an unknown enum", { phoneNumber: "+14155550123", direction: "sideways", status: "completed" }, "direction"],
    ["a bad phone number", { phoneNumber: "555-0123", direction: "inbound", status: "completed" }, "phoneNumber"],
    ["an impossible date", { phoneNumber: "+14155550123", direction: "inbound", status: "completed", startedAt: "2026-02-30T10:00:00Z" }, "startedAt"],
    ["an out-of-range score", { phoneNumber: "+14155550123", direction: "inbound", status: "completed", leadScore: 101 }, "leadScore"],
    ["a wrong type", { phoneNumber: "+14155550123", direction: "inbound", status: "completed", durationSec: "12" }, "durationSec"],
    ["a malformed agent id", { phoneNumber: "+14155550123", direction: "inbound", status: "completed", agentId: "not-a-uuid" }, "agentId"],
    ["an unknown field", { phoneNumber: "+14155550123", direction: "inbound", status: "completed", color: "red" }, ""],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/calls", { key: writeKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await countCalls(orgId)).toBe(0);
  });

  it("answers 400 for malformed JSON and 413 for a body over 1 MiB", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const malformed = await t.request("POST", "/api/calls", { key: writeKey, rawBody: '{"phoneNumber": ' });
    expect(malformed.status, await malformed.clone().text()).toBe(400);
    expect((await body(malformed)).title).toBe("Malformed JSON");
    const huge = await t.request("POST", "/api/calls", { key: writeKey, rawBody: JSON.stringify({ contactName: "x".repeat(1024 * 1024 + 10) }) });
    expect(huge.status, await huge.clone().text()).toBe(413);
    expect(await countCalls(orgId)).toBe(0);
  });

  it("answers 404 for another organization's agent and call", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    const call = await body(
      await t.request("POST", "/api/calls", { key: a.writeKey, body: { phoneNumber: "+14155550999", direction: "inbound", status: "completed" } }),
    );
    expect((await t.request("GET", `/api/calls/${call.data.id}`, { key: b.writeKey })).status).toBe(404);
    expect((await t.request("PATCH", `/api/calls/${call.data.id}`, { key: b.writeKey, body: { status: "failed" } })).status).toBe(404);
    const still = await body(await t.request("GET", `/api/calls/${call.data.id}`, { key: a.readKey }));
    expect(still.data.status).toBe("completed");
  });
});

describe("PATCH /api/calls/{id} and PUT /api/calls/{id}/analysis", () => {
  it("changes only the fields sent, and replaces the analysis", async () => {
    const { writeKey } = await t.createOrg();
    const call = await body(
      await t.request("POST", "/api/calls", {
        key: writeKey,
        body: { phoneNumber: "+14155550125", direction: "inbound", status: "in_progress", startedAt: "2026-03-02T10:00:00Z" },
      }),
    );
    const patched = await body(
      await t.request("PATCH", `/api/calls/${call.data.id}`, { key: writeKey, body: { status: "completed", endedAt: "2026-03-02T10:05:00Z" } }),
    );
    expect(patched.data).toMatchObject({
      status: "completed",
      endedAt: "2026-03-02T10:05:00.000Z",
      direction: "inbound",
      startedAt: "2026-03-02T10:00:00.000Z",
    });
    const bad = await t.request("PATCH", `/api/calls/${call.data.id}`, { key: writeKey, body: { endedAt: "2026-03-02T09:00:00Z" } });
    expect(bad.status, await bad.clone().text()).toBe(400);
    const analysis = {
      leadScore: 81,
      milestones: [
        { key: "greeting", achieved: true },
        { key: "booking", achieved: false },
      ],
      objections: [{ kind: "price", handled: true }],
    };
    const put = await t.request("PUT", `/api/calls/${call.data.id}/analysis`, { key: writeKey, body: analysis });
    expect(put.status, await put.clone().text()).toBe(200);
    const again = await t.request("PUT", `/api/calls/${call.data.id}/analysis`, {
      key: writeKey,
      body: { ...analysis, milestones: [{ key: "greeting", achieved: true }] },
    });
    expect(again.status).toBe(200);
    const got = await body(await t.request("GET", `/api/calls/${call.data.id}`, { key: writeKey }));
    expect(got.data.leadScore).toBe(81);
    expect(got.data.milestones).toEqual([{ key: "greeting", achieved: true }]);
    expect(got.data.objections).toEqual([{ kind: "price", handled: true }]);
  });
});
