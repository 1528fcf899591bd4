import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const NOW = "2026-03-10T12:00:00.000Z";
const t = useTestApp({ clock: new ManualClock(NOW) });

const countPageviews = async (orgId: string) =>
  (await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM widget_pageviews WHERE org_id = ${orgId}`))[0]!.n;

const statementsOfLastRequest = () => t.logs.filter((l) => l.msg === "request").at(-1)!.statements;

describe("POST /api/pageviews", () => {
  it("records every event with one INSERT and answers how many", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const poolId = crypto.randomUUID();
    const events = [{ poolId, siteId: crypto.randomUUID(), countryCode: "US", createdAt: "2026-03-09T10:00:00Z" }, { countryCode: "DE" }, {}];
    const res = await t.request("POST", "/api/pageviews", { key: writeKey, body: { events } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json).toEqual({ data: { accepted: 3 } });
    // the auth lookup and one multi-row INSERT
    expect(statementsOfLastRequest()).toBe(2);
    const stored = await rows<{ pool_id: string | null; country_code: string | null; created_at: Date }>(
      t.database.db,
      sql`SELECT pool_id, country_code, created_at FROM widget_pageviews WHERE org_id = ${orgId} ORDER BY created_at, country_code NULLS LAST`,
    );
    expect(stored.map((r) => [r.pool_id, r.country_code, new Date(r.created_at).toISOString()])).toEqual([
      [poolId, "US", "2026-03-09T10:00:00.000Z"],
      [null, "DE", NOW],
      [null, null, NOW],
    ]);
  });

  it("accepts 1000 events and refuses 1001 without writing any", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const thousand = Array.from({ length: 1000 }, () => ({ countryCode: "FR" }));
    const ok = await t.request("POST", "/api/pageviews", { key: writeKey, body: { events: thousand } });
    expect(ok.status, await ok.clone().text()).toBe(201);
    expect((await body(ok)).data.accepted).toBe(1000);
    const tooMany = await t.request("POST", "/api/pageviews", { key: writeKey, body: { events: [...thousand, {}] } });
    const json = await body(tooMany);
    expect(tooMany.status, JSON.stringify(json)).toBe(400);
    expect(json.errors[0].path).toBe("events");
    expect(await countPageviews(orgId)).toBe(1000);
  });

  it.each([
    ["no events", { events: [] }, "events"],
    ["a missing events array", {}, "events"],
    ["a bad pool id", { events: [{}, { poolId: "pool-1" }] }, "events.1.poolId"],
    ["a bad country code", { events: [{ countryCode: "usa" }] }, "events.0.countryCode"],
    ["an impossible date", { events: [{ createdAt: "2026-13-01T00:00:00Z" }] }, "events.0.createdAt"],
    ["a wrong type", { events: [{ siteId: 12 }] }, "events.0.siteId"],
    ["an unknown event field", { events: [{ referrer: "x" }] }, "events.0"],
    ["events that are not an array", { events: { countryCode: "US" } }, "events"],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/pageviews", { key: writeKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await countPageviews(orgId)).toBe(0);
  });

  it("answers 400 for malformed JSON, 401 without a key, 403 for a read key, writing nothing", async () => {
    const { writeKey, readKey, orgId } = await t.createOrg();
    const malformed = await t.request("POST", "/api/pageviews", { key: writeKey, rawBody: '{"events": [}' });
    expect(malformed.status).toBe(400);
    expect((await t.request("POST", "/api/pageviews", { key: null, body: { events: [{}] } })).status).toBe(401);
    expect((await t.request("POST", "/api/pageviews", { key: readKey, body: { events: [{}] } })).status).toBe(403);
    expect(await countPageviews(orgId)).toBe(0);
  });
});
