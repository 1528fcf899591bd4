import { describe, expect, it } from "vitest";
import { resolveWindow } from "../../functions/lib/windows";

describe("resolveWindow", () => {
  it("days=1 starts at local midnight today, in the organization's zone", () => {
    const w = resolveWindow({ days: 1 }, "America/New_York", new Date("2026-07-10T03:00:00Z"), 30);
    // 03:00Z is 23:00 on July 9 in New York (UTC-4)
    expect(w.from.toISOString()).toBe("2026-07-09T04:00:00.000Z");
    expect(w.dates).toEqual(["2026-07-09"]);
  });

  it("rejects from after to, and days with from/to", () => {
    expect(() => resolveWindow({ from: "2026-03-02T00:00:00Z", to: "2026-03-01T00:00:00Z" }, "UTC", new Date(), 7)).toThrow(/from must not be after to/);
    expect(() => resolveWindow({ days: 3, from: "2026-03-01T00:00:00Z" }, "UTC", new Date(), 7)).toThrow(/either days or from/);
  });
});
