import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeCopyText } from "../../functions/db/database";
import { ZONES } from "../../functions/seed/catalog";
import { buildSlots, iso } from "../../functions/seed/clock";
import { apportion, planOrganizations, seedOptionProblems } from "../../functions/seed/plan";
import { Random } from "../../functions/seed/random";
import { localToUtc, utcOffsetMinutes } from "../../functions/lib/time";

describe("seeded randomness", () => {
  it("repeats the same stream for the same key and differs for another", () => {
    const a = Random.from(42, "calls");
    const b = Random.from(42, "calls");
    const c = Random.from(43, "calls");
    const draw = (r: Random) => Array.from({ length: 8 }, () => r.next32());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it("draws version-4 UUIDs", () => {
    const r = Random.from("uuids");
    for (let i = 0; i < 1000; i++) expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("draws version-7 UUIDs that start with their instant and sort by it", () => {
    const r = Random.from("uuids");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), (ms) => {
        const id = r.uuidAt(ms);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
        expect(r.uuidAt(ms + 1) > id).toBe(true);
      }),
    );
  });
});

describe("organization plans", () => {
  it("splits the calls so that the sizes sum to exactly the total", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.double({ min: 0.001, max: 100, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (total, weights) => {
          const sizes = apportion(total, weights);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
          expect(sizes.every((s) => Number.isInteger(s) && s >= 0)).toBe(true);
        },
      ),
    );
  });

  it("gives the first organization the largest share when asked, and hands out the required zones first", () => {
    const plans = planOrganizations({ orgs: 8, calls: 1_000_000, days: 30, seed: 1, largestOrgShare: 0.4 });
    expect(plans.reduce((n, p) => n + p.calls, 0)).toBe(1_000_000);
    expect(plans[0]!.calls).toBe(400_000);
    expect(plans.slice(0, 6).map((p) => p.timeZone)).toEqual(ZONES.slice(0, 6).map((z) => z.timeZone));
    expect(new Set(plans.map((p) => p.name)).size).toBe(8);
  });

  it("gives the largest organization its own agent count when asked (the benchmark's 200 agents), the others theirs", () => {
    const plans = planOrganizations({ orgs: 4, calls: 100_000, days: 30, seed: 1, largestOrgShare: 0.5, largestOrgAgents: 200, agentsPerOrg: 6 });
    expect(plans.map((p) => p.agents)).toEqual([200, 6, 6, 6]);
    expect(seedOptionProblems({ orgs: 4, calls: 10, days: 7, seed: 1, largestOrgAgents: 3 })).toEqual(["largestOrgAgents needs largestOrgShare"]);
  });

  it("lists every problem with the options", () => {
    const problems = seedOptionProblems({ orgs: 0, calls: -1, days: 0, seed: 1, largestOrgShare: 1.5, agentsPerOrg: 0 });
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["orgs", "calls", "days", "agentsPerOrg", "largestOrgShare"]);
    expect(seedOptionProblems({ orgs: 3, calls: 10, days: 7, seed: "x" })).toEqual([]);
  });
});

describe("organization-local time", () => {
  it("formats instants exactly as Date#toISOString does", () => {
    fc.assert(
      fc.property(fc.integer({ min: -30_000_000_000_000, max: 30_000_000_000_000 }), (ms) => {
        expect(iso(ms)).toBe(new Date(ms).toISOString());
      }),
    );
  });

  it("knows the 45- and 30-minute zones and New York's spring-forward day", () => {
    expect(utcOffsetMinutes("Asia/Kathmandu", Date.UTC(2026, 0, 15))).toBe(345);
    expect(utcOffsetMinutes("Asia/Kolkata", Date.UTC(2026, 0, 15))).toBe(330);
    expect(utcOffsetMinutes("Australia/Adelaide", Date.UTC(2026, 0, 15))).toBe(630);
    expect(utcOffsetMinutes("America/New_York", Date.UTC(2026, 2, 8, 6, 59))).toBe(-300);
    expect(utcOffsetMinutes("America/New_York", Date.UTC(2026, 2, 8, 7, 0))).toBe(-240);
    expect(new Date(localToUtc("America/New_York", 2026, 2, 9, 9 * 60)).toISOString()).toBe("2026-03-09T13:00:00.000Z");
    expect(new Date(localToUtc("Asia/Kathmandu", 2026, 2, 9, 9 * 60)).toISOString()).toBe("2026-03-09T03:15:00.000Z");
  });

  it("cuts a window into 15-minute slots with the local hour of each", () => {
    const start = Date.UTC(2026, 2, 7, 0, 0);
    const slots = buildSlots("America/New_York", start, start + 3 * 86_400_000);
    const hourAt = (iso: string) => slots.localHour[(Date.parse(iso) - start) / 900_000];
    expect(hourAt("2026-03-07T14:00:00Z")).toBe(9); // EST
    expect(hourAt("2026-03-09T13:00:00Z")).toBe(9); // EDT after the switch
    const kathmandu = buildSlots("Asia/Kathmandu", start, start + 86_400_000);
    expect(kathmandu.minuteOfDay[0]).toBe(5 * 60 + 45);
  });
});

describe("COPY text encoding", () => {
  it("escapes backslashes, tabs and line breaks and writes nulls as \\N", () => {
    expect(encodeCopyText([["a\tb", "c\\d", "e\nf\rg", null, 3, true, false, { k: "v" }]])).toBe('a\\tb\tc\\\\d\te\\nf\\rg\t\\N\t3\tt\tf\t{"k":"v"}\n');
  });
});
