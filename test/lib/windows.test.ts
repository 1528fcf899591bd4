import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { resolveWindow } from "../../functions/lib/windows";
import { localDate, startOfLocalDay, addDays } from "../../functions/lib/time";

describe("resolveWindow", () => {
  it("days=1 starts at local midnight today, in the organization's zone", () => {
    const w = resolveWindow({ days: 1 }, "America/New_York", new Date("2026-07-10T03:00:00Z"), 30);
    // 03:00Z is 23:00 on July 9 in New York (UTC-4)
    expect(w.from.toISOString()).toBe("2026-07-09T04:00:00.000Z");
    expect(w.dates).toEqual(["2026-07-09"]);
  });

  it("spans a fall-back day of 25 hours and a spring-forward day of 23", () => {
    const fall = startOfLocalDay("2026-11-02", "America/New_York").getTime() - startOfLocalDay("2026-11-01", "America/New_York").getTime();
    const spring = startOfLocalDay("2026-03-09", "America/New_York").getTime() - startOfLocalDay("2026-03-08", "America/New_York").getTime();
    expect(fall / 3600_000).toBe(25);
    expect(spring / 3600_000).toBe(23);
  });

  it("handles 30- and 45-minute offsets", () => {
    expect(startOfLocalDay("2026-05-01", "Asia/Kolkata").toISOString()).toBe("2026-04-30T18:30:00.000Z");
    expect(startOfLocalDay("2026-05-01", "Asia/Kathmandu").toISOString()).toBe("2026-04-30T18:15:00.000Z");
  });

  it("starts a day whose midnight does not exist at the first instant that does", () => {
    // Santiago springs forward at 24:00 on the first Saturday of September: Sept 6 2026 starts at 01:00 local
    const start = startOfLocalDay("2026-09-06", "America/Santiago");
    expect(localDate(start, "America/Santiago")).toBe("2026-09-06");
    expect(localDate(new Date(start.getTime() - 1000), "America/Santiago")).toBe("2026-09-05");
  });

  it("rejects from after to, and days with from/to", () => {
    expect(() => resolveWindow({ from: "2026-03-02T00:00:00Z", to: "2026-03-01T00:00:00Z" }, "UTC", new Date(), 7)).toThrow(/from must not be after to/);
    expect(() => resolveWindow({ days: 3, from: "2026-03-01T00:00:00Z" }, "UTC", new Date(), 7)).toThrow(/either days or from/);
  });

  it("for any zone and instant, startOfLocalDay is the first instant of that local date", () => {
    const zones = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Chatham", "America/St_Johns"];
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2028, 0, 1) }), (zone, t) => {
        const date = localDate(new Date(t), zone);
        const start = startOfLocalDay(date, zone);
        expect(localDate(start, zone)).toBe(date);
        expect(localDate(new Date(start.getTime() - 1000), zone)).toBe(addDays(date, -1));
        expect(start.getTime()).toBeLessThanOrEqual(t);
      }),
      { numRuns: 500 },
    );
  });
});
