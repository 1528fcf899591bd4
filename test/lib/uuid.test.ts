import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../functions/lib/uuid";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("uuidv7", () => {
  it("makes version-7 UUIDs that start with their instant, sort by it and differ within one millisecond", () => {
    const ms = Date.UTC(2026, 11, 2, 13, 0, 0, 123);
    // several pools of random words (1,024 ids a pool): no word is used twice across a refill
    const ids = Array.from({ length: 5000 }, () => uuidv7(ms));
    for (const id of ids) {
      expect(id).toMatch(V7);
      expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(ms);
      expect(uuidv7(ms + 1) > id).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});
