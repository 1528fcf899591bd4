import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { insertAgents } from "../../support/fixtures";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const storedConfig = async (orgId: string) =>
  rows<{ default_agent_id: string | null; hours_type: string; rules_type: string }>(
    t.database.db,
    sql`SELECT default_agent_id, jsonb_typeof(business_hours) AS hours_type, jsonb_typeof(rules) AS rules_type FROM inbound_config WHERE org_id = ${orgId}`,
  );

async function orgWithAgents() {
  const org = await t.createOrg();
  const [day, night, spanish] = await insertAgents(t.database.db, org.orgId, [{ name: "Day" }, { name: "Night" }, { name: "Spanish" }]);
  return { ...org, day: day!.id, night: night!.id, spanish: spanish!.id };
}

const configFor = (o: { day: string; night: string; spanish: string }) => ({
  defaultAgentId: o.day,
  afterHoursAgentId: o.night,
  businessHours: {
    mon: [
      { start: "13:00", end: "17:00" },
      { start: "09:00", end: "12:00" },
    ],
    fri: [
      { start: "09:00", end: "12:00" },
      { start: "12:00", end: "24:00" },
    ],
    sun: [],
  },
  rules: [
    { prefix: "+34", agentId: o.spanish },
    { prefix: "+1415", agentId: o.day },
  ],
});

describe("PUT /api/inbound-config and GET /api/inbound-config", () => {
  it("answers an empty configuration before the first PUT, then the PUT on the very next read", async () => {
    const o = await orgWithAgents();
    const before = await body(await t.request("GET", "/api/inbound-config", { key: o.readKey }));
    expect(before.data).toEqual({ orgId: o.orgId, defaultAgentId: null, afterHoursAgentId: null, businessHours: {}, rules: [], updatedAt: null });
    expect(before.meta.cache).toBe("miss");
    expect((await body(await t.request("GET", "/api/inbound-config", { key: o.readKey }))).meta.cache).toBe("hit");

    const res = await t.request("PUT", "/api/inbound-config", { key: o.writeKey, body: configFor(o) });
    const put = await body(res);
    expect(res.status, JSON.stringify(put)).toBe(200);
    expect(put.data).toMatchObject({
      orgId: o.orgId,
      defaultAgentId: o.day,
      afterHoursAgentId: o.night,
      // intervals come back in start order
      businessHours: {
        mon: [
          { start: "09:00", end: "12:00" },
          { start: "13:00", end: "17:00" },
        ],
        fri: [
          { start: "09:00", end: "12:00" },
          { start: "12:00", end: "24:00" },
        ],
        sun: [],
      },
      rules: configFor(o).rules,
    });
    const after = await body(await t.request("GET", "/api/inbound-config", { key: o.readKey }));
    expect(after.meta.cache).toBe("miss");
    expect(after.data).toEqual(put.data);
    expect(await storedConfig(o.orgId)).toEqual([{ default_agent_id: o.day, hours_type: "object", rules_type: "array" }]);

    const cleared = await body(
      await t.request("PUT", "/api/inbound-config", { key: o.writeKey, body: { defaultAgentId: null, afterHoursAgentId: null, businessHours: {}, rules: [] } }),
    );
    expect(cleared.data).toMatchObject({ defaultAgentId: null, businessHours: {}, rules: [] });
    expect((await body(await t.request("GET", "/api/inbound-config", { key: o.readKey }))).data).toEqual(cleared.data);
  });

  it.each([
    ["a malformed time", (c: any) => ({ ...c, businessHours: { mon: [{ start: "9:00", end: "17:00" }] } }), "businessHours.mon.0.start"],
    ["an hour past 24", (c: any) => ({ ...c, businessHours: { mon: [{ start: "09:00", end: "25:00" }] } }), "businessHours.mon.0.end"],
    ["an interval ending before it starts", (c: any) => ({ ...c, businessHours: { tue: [{ start: "17:00", end: "09:00" }] } }), "businessHours.tue.0.end"],
    ["an empty interval", (c: any) => ({ ...c, businessHours: { tue: [{ start: "09:00", end: "09:00" }] } }), "businessHours.tue.0.end"],
    [
      "overlapping intervals",
      (c: any) => ({
        ...c,
        businessHours: {
          wed: [
            { start: "12:00", end: "18:00" },
            { start: "09:00", end: "12:30" },
          ],
        },
      }),
      "businessHours.wed.0.start",
    ],
    ["an unknown weekday", (c: any) => ({ ...c, businessHours: { monday: [{ start: "09:00", end: "17:00" }] } }), "businessHours"],
    ["a prefix without a plus", (c: any) => ({ ...c, rules: [{ prefix: "1415", agentId: c.defaultAgentId }] }), "rules.0.prefix"],
    ["a prefix with letters", (c: any) => ({ ...c, rules: [{ prefix: "+1-415", agentId: c.defaultAgentId }] }), "rules.0.prefix"],
    ["a prefix listed twice", (c: any) => ({ ...c, rules: [...c.rules, { prefix: "+34", agentId: c.defaultAgentId }] }), "rules.2.prefix"],
    ["a malformed agent id", (c: any) => ({ ...c, afterHoursAgentId: "night" }), "afterHoursAgentId"],
    ["a missing field", (c: any) => ({ ...c, rules: undefined }), "rules"],
    ["a wrong type", (c: any) => ({ ...c, businessHours: [] }), "businessHours"],
    ["an unknown field", (c: any) => ({ ...c, holidays: [] }), ""],
  ])("answers 400 for %s and writes nothing", async (_name, change, path) => {
    const o = await orgWithAgents();
    const res = await t.request("PUT", "/api/inbound-config", { key: o.writeKey, body: change(configFor(o)) });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await storedConfig(o.orgId)).toEqual([]);
  });

  it("answers 400 for malformed JSON, 401 without a key, 403 for a read key", async () => {
    const o = await orgWithAgents();
    expect((await t.request("PUT", "/api/inbound-config", { key: o.writeKey, rawBody: "{" })).status).toBe(400);
    expect((await t.request("PUT", "/api/inbound-config", { key: null, body: configFor(o) })).status).toBe(401);
    expect((await t.request("GET", "/api/inbound-config", { key: null })).status).toBe(401);
    expect((await t.request("PUT", "/api/inbound-config", { key: o.readKey, body: configFor(o) })).status).toBe(403);
    expect(await storedConfig(o.orgId)).toEqual([]);
  });

  it.each(["defaultAgentId", "afterHoursAgentId", "rule"] as const)(
    "answers 404 when %s names another organization's agent, changing nothing",
    async (where) => {
      const a = await orgWithAgents();
      const b = await orgWithAgents();
      expect((await t.request("PUT", "/api/inbound-config", { key: b.writeKey, body: configFor(b) })).status).toBe(200);
      const config = configFor(b);
      const sent = where === "rule" ? { ...config, rules: [...config.rules, { prefix: "+44", agentId: a.day }] } : { ...config, [where]: a.night };
      const res = await t.request("PUT", "/api/inbound-config", { key: b.writeKey, body: sent });
      expect(res.status, await res.clone().text()).toBe(404);
      const still = await body(await t.request("GET", "/api/inbound-config", { key: b.readKey }));
      expect(still.data).toMatchObject({ defaultAgentId: b.day, afterHoursAgentId: b.night, rules: config.rules });
      expect(await storedConfig(a.orgId)).toEqual([]);
    },
  );
});
