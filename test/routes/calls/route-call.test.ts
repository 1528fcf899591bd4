import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { agents } from "../../../drizzle/schema";
import { body, ManualClock } from "../../support/app";
import { insertAgents, type AgentSeed } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";

// a Monday, 11:30 in New York (EDT, UTC-4)
const NOW = new Date("2026-03-16T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

const weekdays = {
  mon: [{ start: "09:00", end: "17:00" }],
  tue: [{ start: "09:00", end: "17:00" }],
  fri: [
    { start: "09:00", end: "12:00" },
    { start: "13:00", end: "17:00" },
  ],
};

/** An organization in New York with agents and an inbound configuration set through PUT /api/inbound-config. */
async function orgWith(seeds: AgentSeed[], config: (ids: string[]) => Record<string, unknown>, timezone = "America/New_York") {
  const org = await t.createOrg({ timezone });
  const ids = (await insertAgents(t.database.db, org.orgId, seeds)).map((a) => a.id);
  const put = await t.request("PUT", "/api/inbound-config", {
    key: org.writeKey,
    body: { defaultAgentId: null, afterHoursAgentId: null, businessHours: {}, rules: [], ...config(ids) },
  });
  expect(put.status, await put.clone().text()).toBe(200);
  const route = async (phoneNumber: string, at?: string) => {
    const res = await t.request("POST", "/api/calls/route", { key: org.readKey, body: { phoneNumber, ...(at ? { at } : {}) } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    return json;
  };
  return { ...org, ids, route };
}

describe("POST /api/calls/route", () => {
  it("routes by the longest matching caller prefix first", async () => {
    const o = await orgWith([{ name: "US" }, { name: "SF" }, { name: "Default" }], ([us, sf, def]) => ({
      defaultAgentId: def,
      businessHours: weekdays,
      rules: [
        { prefix: "+1", agentId: us },
        { prefix: "+1415", agentId: sf },
      ],
    }));
    const [us, sf, def] = o.ids;
    expect((await o.route("+14155550123")).data).toEqual({ agentId: sf, reason: "rule" });
    expect((await o.route("+12125550123")).data).toEqual({ agentId: us, reason: "rule" });
    expect((await o.route("+442071234567")).data).toEqual({ agentId: def, reason: "business_hours" });
  });

  it("reads business hours in the organization's zone, across the DST change", async () => {
    const o = await orgWith([{ name: "Day" }, { name: "Night" }], ([day, night]) => ({
      defaultAgentId: day,
      afterHoursAgentId: night,
      businessHours: weekdays,
    }));
    const [day, night] = o.ids;
    const at = async (instant: string) => (await o.route("+442071234567", instant)).data;
    // Friday 2026-03-06 is EST (UTC-5): 14:30Z is 09:30 local; Monday 2026-03-09 is EDT (UTC-4): 13:30Z is 09:30 local
    expect(await at("2026-03-06T14:30:00Z")).toEqual({ agentId: day, reason: "business_hours" });
    expect(await at("2026-03-06T13:30:00Z")).toEqual({ agentId: night, reason: "after_hours" });
    expect(await at("2026-03-09T13:30:00Z")).toEqual({ agentId: day, reason: "business_hours" });
    expect(await at("2026-03-09T12:59:59Z")).toEqual({ agentId: night, reason: "after_hours" });
    // Friday's lunch break, the end being exclusive, and a day not listed (Wednesday)
    expect(await at("2026-03-06T17:30:00Z")).toEqual({ agentId: night, reason: "after_hours" });
    expect(await at("2026-03-06T22:00:00Z")).toEqual({ agentId: night, reason: "after_hours" });
    expect(await at("2026-03-11T15:00:00Z")).toEqual({ agentId: night, reason: "after_hours" });
    // without `at`, now: Monday 11:30 local
    const now = await o.route("+442071234567");
    expect(now.data).toEqual({ agentId: day, reason: "business_hours" });
    expect(now.meta).toMatchObject({ at: NOW.toISOString(), timezone: "America/New_York" });
  });

  it("counts 24:00 as midnight and a 45-minute zone's wall clock", async () => {
    const o = await orgWith(
      [{ name: "Late" }],
      ([late]) => ({ defaultAgentId: late, businessHours: { mon: [{ start: "22:00", end: "24:00" }] } }),
      "Asia/Kathmandu",
    );
    // Monday 2026-03-16 23:59 in Kathmandu (UTC+5:45) is 18:14Z
    expect((await o.route("+9771234567", "2026-03-16T18:14:00Z")).data.reason).toBe("business_hours");
    expect((await o.route("+9771234567", "2026-03-16T18:15:00Z")).data.reason).toBe("no_agent");
    expect((await o.route("+9771234567", "2026-03-16T16:14:00Z")).data.reason).toBe("no_agent");
  });

  it("answers no agent when nobody is configured, and treats an organization without hours as always open", async () => {
    const empty = await t.createOrg();
    const res = await t.request("POST", "/api/calls/route", { key: empty.readKey, body: { phoneNumber: "+14155550123" } });
    expect((await body(res)).data).toEqual({ agentId: null, reason: "no_agent" });
    const open = await orgWith([{ name: "Always" }], ([a]) => ({ defaultAgentId: a }));
    expect((await open.route("+14155550123", "2026-03-15T03:00:00Z")).data).toEqual({ agentId: open.ids[0], reason: "business_hours" });
  });

  it("skips archived, paused and draft agents: next rule, then the default, then the after-hours agent", async () => {
    const o = await orgWith(
      [{ name: "SF", status: "archived" }, { name: "US", status: "paused" }, { name: "Default", status: "draft" }, { name: "Night" }],
      ([sf, us, def, night]) => ({
        defaultAgentId: def,
        afterHoursAgentId: night,
        businessHours: weekdays,
        rules: [
          { prefix: "+1415", agentId: sf },
          { prefix: "+1", agentId: us },
        ],
      }),
    );
    const [, us, def, night] = o.ids;
    expect((await o.route("+14155550123")).data).toEqual({ agentId: night, reason: "after_hours" });
    await t.database.db.update(agents).set({ status: "active" }).where(eq(agents.id, us!));
    expect((await o.route("+14155550123")).data).toEqual({ agentId: us, reason: "rule" });
    await t.database.db.update(agents).set({ status: "active" }).where(eq(agents.id, def!));
    expect((await o.route("+442071234567")).data).toEqual({ agentId: def, reason: "business_hours" });
    await t.database.db.update(agents).set({ status: "paused" }).where(eq(agents.id, night!));
    // outside business hours the default agent is not asked
    expect((await o.route("+442071234567", "2026-03-16T03:00:00Z")).data).toEqual({ agentId: null, reason: "no_agent" });
  });

  it("serves the configuration from cache and sees a PUT on the very next request", async () => {
    const o = await orgWith([{ name: "A" }, { name: "B" }], ([a]) => ({ defaultAgentId: a }));
    const [a, b] = o.ids;
    const first = await o.route("+14155550123");
    const second = await o.route("+14155550123");
    expect(first.data.agentId).toBe(a);
    expect(second.meta.cache).toBe("hit");
    const put = await t.request("PUT", "/api/inbound-config", {
      key: o.writeKey,
      body: { defaultAgentId: b, afterHoursAgentId: null, businessHours: {}, rules: [] },
    });
    expect(put.status).toBe(200);
    const third = await o.route("+14155550123");
    expect(third.data.agentId).toBe(b);
    expect(third.meta.cache).toBe("miss");
  });

  it("answers only from the organization's own configuration", async () => {
    const a = await orgWith([{ name: "Mine" }], ([m]) => ({ defaultAgentId: m }));
    const b = await t.createOrg();
    const res = await t.request("POST", "/api/calls/route", { key: b.readKey, body: { phoneNumber: "+14155550123" } });
    expect((await body(res)).data).toEqual({ agentId: null, reason: "no_agent" });
    expect((await t.request("POST", "/api/calls/route", { key: null, body: { phoneNumber: "+14155550123" } })).status).toBe(401);
    expect((await a.route("+14155550123")).data.agentId).toBe(a.ids[0]);
  });

  it.each([
    [{}, ["phoneNumber"]],
    [{ phoneNumber: "4155550123" }, ["phoneNumber"]],
    [{ phoneNumber: "+14155550123", at: "2026-02-30T10:00:00Z" }, ["at"]],
    [{ phoneNumber: "+14155550123", at: "tomorrow" }, ["at"]],
    [{ phoneNumber: 14155550123, at: 5 }, ["at", "phoneNumber"]],
    [{ phoneNumber: "+14155550123", agent: "x" }, [""]],
  ])("answers 400 for the body %j", async (payload, paths) => {
    const { readKey } = await t.createOrg();
    const res = await t.request("POST", "/api/calls/route", { key: readKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path).sort(), JSON.stringify(json)).toEqual(paths);
  });
});
