import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addDays,
  HOUR_MS,
  localDate,
  localParts,
  MINUTE_MS,
  startOfLocalDay,
  utcHoursAreLocalHours,
  utcOffsetMinutes,
  zoneOffsetMs,
} from "../../functions/lib/time";

const ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Chatham", "America/St_Johns"];

describe("org-local days", () => {
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

  it("reads the same offset through the generator's cached path as through the exact one", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), (zone, t) => {
        expect(utcOffsetMinutes(zone, t) * MINUTE_MS).toBe(zoneOffsetMs(new Date(t), zone));
      }),
      { numRuns: 500 },
    );
  });
});

/** The wall clock as Intl reads it for one instant, with a formatter of its own (no cache in between). */
const intlParts = (at: Date, timeZone: string) => {
  const fields = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(at);
  const get = (type: string) => Number(fields.find((f) => f.type === type)!.value);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
};

describe("localParts", () => {
  // zones with DST, 30/45-minute offsets, a 30-minute DST shift (Lord Howe) and a local mean time kept until 1972 (Monrovia)
  const zones = [...ZONES, "America/Santiago", "Australia/Lord_Howe", "Africa/Monrovia", "Europe/Dublin", "Pacific/Apia"];

  it("equals Intl's wall clock for any zone and instant, across offset changes and before 1900", () => {
    fc.assert(
      fc.property(fc.constantFrom(...zones), fc.integer({ min: Date.UTC(1850, 0, 1), max: Date.UTC(2100, 0, 1) }), (zone, t) => {
        expect(localParts(new Date(t), zone)).toEqual(intlParts(new Date(t), zone));
      }),
      { numRuns: 3000 },
    );
  });

  it("equals Intl's wall clock every second around a DST change and a local-mean-time switch", () => {
    const around = [
      ["America/New_York", Date.UTC(2026, 2, 8, 7)], // 02:00 EST → 03:00 EDT
      ["America/New_York", Date.UTC(2026, 10, 1, 6)], // 02:00 EDT → 01:00 EST
      ["Australia/Lord_Howe", Date.UTC(2026, 3, 4, 15)], // 02:00 +11 → 01:30 +10:30
      ["Africa/Monrovia", Date.UTC(1972, 0, 7, 0, 44, 30)], // −0:44:30 → UTC
    ] as const;
    for (const [zone, at] of around)
      for (let t = at - 20 * MINUTE_MS; t <= at + 20 * MINUTE_MS; t += 1000) expect(localParts(new Date(t), zone)).toEqual(intlParts(new Date(t), zone));
  });
});

describe("utcHoursAreLocalHours", () => {
  // every UTC hour of the window asked of Intl at its first and last second: one whole-hour offset in each
  const oracle = (zone: string, from: number, to: number) => {
    const offset = (ms: number) => {
      const p = intlParts(new Date(ms), zone);
      return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
    };
    for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) {
      const at = offset(h);
      if (at % HOUR_MS !== 0 || at !== offset(h + HOUR_MS - 1000)) return false;
    }
    return true;
  };
  const zones = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Apia",
    "Asia/Tehran",
    "Europe/Dublin",
  ];

  it("agrees with Intl hour by hour, across DST changes and zones on 30- and 45-minute offsets", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(1960, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.integer({ min: 1, max: 45 * 24 * 4 }),
        (zone, from, quarters) => {
          const to = from + quarters * 15 * MINUTE_MS;
          expect(utcHoursAreLocalHours(zone, from, to), `${zone} ${new Date(from).toISOString()} +${quarters}×15 min`).toBe(oracle(zone, from, to));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("holds for 90 days of New York across both DST changes, and never for Kolkata, Kathmandu or Lord Howe", () => {
    const from = Date.UTC(2026, 1, 1);
    const to = Date.UTC(2026, 11, 1);
    expect(utcHoursAreLocalHours("America/New_York", from, to)).toBe(true);
    expect(utcHoursAreLocalHours("Pacific/Apia", Date.UTC(2011, 11, 1), Date.UTC(2012, 0, 31))).toBe(
      oracle("Pacific/Apia", Date.UTC(2011, 11, 1), Date.UTC(2012, 0, 31)),
    );
    for (const zone of ["Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe"]) expect(utcHoursAreLocalHours(zone, from, to), zone).toBe(false);
  });

  it("counts only the window's own hours on a day whose offset changes (Lord Howe, +10:30 → +11:00 at 15:30Z)", () => {
    // found by the property above: the day began on +10:30, but the window's hour lies after the change
    const change = Date.UTC(2029, 9, 6, 15, 30);
    expect(utcHoursAreLocalHours("Australia/Lord_Howe", Date.UTC(2029, 9, 6, 16), Date.UTC(2029, 9, 6, 16, 15))).toBe(true);
    expect(utcHoursAreLocalHours("Australia/Lord_Howe", Date.UTC(2029, 9, 6, 16), Date.UTC(2029, 9, 20))).toBe(true);
    expect(utcHoursAreLocalHours("Australia/Lord_Howe", change - HOUR_MS, Date.UTC(2029, 9, 6, 16, 15))).toBe(false);
  });
});
