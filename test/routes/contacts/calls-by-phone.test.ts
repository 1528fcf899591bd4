import { describe, expect, it } from "vitest";
import { body, ManualClock } from "../../support/app";
import { insertCalls } from "../../support/fixtures";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-15T15:30:00Z");
const t = useTestApp({ clock: new ManualClock(NOW) });

const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);
// insertCalls numbers contacts +1415555000<i>
const PHONE = "+14155550001";

describe("GET /api/contacts/by-phone/{phone}/calls", () => {
  it("lists one number's calls newest first, paginated, with the exact total", async () => {
    const { orgId, readKey } = await t.createOrg();
    await insertCalls(t.database.db, orgId, [
      { contactIndex: 1, startedAt: minutesAgo(3) },
      { contactIndex: 0, startedAt: minutesAgo(2) },
      { contactIndex: 1, startedAt: minutesAgo(1), status: "missed" },
      { contactIndex: 1, startedAt: minutesAgo(5) },
    ]);
    const first = await t.request("GET", `/api/contacts/by-phone/${encodeURIComponent(PHONE)}/calls?limit=2`, { key: readKey });
    const page1 = await body(first);
    expect(first.status, JSON.stringify(page1)).toBe(200);
    expect(page1.data.map((c: { startedAt: string }) => c.startedAt)).toEqual([minutesAgo(1), minutesAgo(3)].map((d) => d.toISOString()));
    expect(page1.data.every((c: { contact: { phone: string } }) => c.contact.phone === PHONE)).toBe(true);
    expect(page1.meta).toMatchObject({ total: 3, nextCursor: expect.any(String), cache: "bypass" });
    const page2 = await body(await t.request("GET", `/api/contacts/by-phone/%2B14155550001/calls?limit=2&cursor=${page1.meta.nextCursor}`, { key: readKey }));
    expect(page2.data.map((c: { startedAt: string }) => c.startedAt)).toEqual([minutesAgo(5).toISOString()]);
    expect(page2.meta).toMatchObject({ total: 3, nextCursor: null });
    // filters apply as on the calls list
    const missed = await body(await t.request("GET", `/api/contacts/by-phone/%2B14155550001/calls?status=missed`, { key: readKey }));
    expect(missed.meta.total).toBe(1);
    // a plus sign left unencoded in the path is the same number
    const raw = await body(await t.request("GET", `/api/contacts/by-phone/${PHONE}/calls`, { key: readKey }));
    expect(raw.meta.total).toBe(3);
  });

  it("answers an empty list for an unknown number and for another organization's number", async () => {
    const a = await t.createOrg();
    const b = await t.createOrg();
    await insertCalls(t.database.db, a.orgId, [{ contactIndex: 1, startedAt: minutesAgo(1) }]);
    for (const [key, phone] of [
      [a.readKey, "+14155559999"],
      [b.readKey, PHONE],
    ] as const) {
      const res = await t.request("GET", `/api/contacts/by-phone/${encodeURIComponent(phone)}/calls`, { key });
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(200);
      expect(json).toMatchObject({ data: [], meta: { total: 0, nextCursor: null } });
    }
  });

  it.each([
    ["14155550001", "", ["param.phone"]],
    ["%2B0415555000", "", ["param.phone"]],
    ["%2B1415", "", ["param.phone"]],
    ["abc", "", ["param.phone"]],
    ["%2B1415555000112345678", "", ["param.phone"]],
    [encodeURIComponent(PHONE), "?limit=0", ["query.limit"]],
    [encodeURIComponent(PHONE), "?cursor=zzz", ["query.cursor"]],
    [encodeURIComponent(PHONE), "?direction=up&limit=101", ["query.direction", "query.limit"]],
  ])("answers 400 for the number %s%s", async (phone, query, paths) => {
    const { readKey } = await t.createOrg();
    const res = await t.request("GET", `/api/contacts/by-phone/${phone}/calls${query}`, { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(json.errors.map((e: { path: string }) => e.path).sort(), JSON.stringify(json)).toEqual(paths);
  });
});
