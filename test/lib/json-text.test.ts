import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isJsonData, jsonTextKeepingParts, jsonTextReusingParts } from "../../functions/lib/json-text";

describe("isJsonData", () => {
  it("holds for what JSON.parse answers, and for nothing its round trip would change", () => {
    for (const value of [null, true, "é\u2028", 0, -1.5e-300, [], {}, [1, [null, { a: "b" }]], { 10: 1, a: { b: [true] } }, Object.create(null)])
      expect(isJsonData(value), JSON.stringify(value)).toBe(true);
    class Point {
      x = 1;
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const accessor = Object.defineProperty({}, "x", { get: () => 1, enumerable: true });
    const hidden = Object.defineProperty({ a: 1 }, "b", { value: 2, enumerable: false });
    for (const value of [
      undefined,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1n,
      () => 1,
      Symbol("s"),
      new Date(0),
      new Point(),
      { a: undefined },
      { toJSON: () => 1 },
      // biome-ignore lint/suspicious/noSparseArray: a hole is the case
      [1, , 3],
      Object.assign([1], { extra: 2 }),
      { [Symbol("s")]: 1 },
      accessor,
      hidden,
      cycle,
    ])
      expect(isJsonData(value), String(value)).toBe(false);
  });

  it("holds for any JSON value without -0, whose round trip is the same data with keys in the same order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // fast-check's JSON values hold -0, which JSON answers as 0
        const negativeZero = (v: unknown): boolean =>
          Object.is(v, -0) || (typeof v === "object" && v !== null && Object.values(v).some((member) => negativeZero(member)));
        expect(isJsonData(value)).toBe(!negativeZero(value));
        if (negativeZero(value)) return;
        const back = JSON.parse(JSON.stringify(value)) as unknown;
        expect(back).toStrictEqual(value);
        expect(JSON.stringify(back)).toBe(JSON.stringify(value));
      }),
    );
  });
});

describe("jsonTextKeepingParts and jsonTextReusingParts", () => {
  it("make the text JSON.stringify makes", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue(), (value, other) => {
        fc.pre(isJsonData(value));
        expect(jsonTextKeepingParts(value)).toBe(JSON.stringify(value));
        const parts = Object.values(value);
        // an answer holding the value, its parts and other data, as a route builds one
        const answer = { data: { whole: value, parts, first: parts[0], other }, meta: { cache: "miss", ttlSec: 30, gone: undefined } };
        expect(jsonTextReusingParts(answer)).toBe(JSON.stringify(answer));
      }),
    );
  });

  it("serialize an answer around the kept texts of a value's parts instead of again", () => {
    const team = { calls: { mean: 2, stddev: 0.5 } };
    const agents = [{ agentId: "a", calls: 3 }];
    const value = { from: "2026-01-01T00:00:00.000Z", agents, team };
    expect(jsonTextKeepingParts(value)).toBe(JSON.stringify(value));
    // a kept part is never changed in production (cached values are not); changed here, it shows the text is reused
    agents[0]!.calls = 4;
    team.calls.mean = 3;
    const { from: _from, ...data } = value;
    expect(jsonTextReusingParts({ data, meta: { cache: "miss" } })).toBe(
      '{"data":{"agents":[{"agentId":"a","calls":3}],"team":{"calls":{"mean":2,"stddev":0.5}}},"meta":{"cache":"miss"}}',
    );
    expect(jsonTextReusingParts({ data: value })).toContain('"calls":3');
    // an object it has no text of is serialized as it is now
    expect(jsonTextReusingParts({ data: { ...team } })).toBe('{"data":{"calls":{"mean":3,"stddev":0.5}}}');
  });

  it("leave members out and call toJSON exactly as JSON.stringify does", () => {
    const at = new Date(Date.UTC(2026, 0, 1));
    const keyed = { toJSON: (key: string) => `key:${key}` };
    class Point {
      x = 1;
    }
    const answers: unknown[] = [
      { data: { at, keyed, fn: () => 1, sym: Symbol("s"), none: undefined, nested: { at } }, meta: {} },
      { data: new Point() },
      { data: { deep: { deeper: { deepest: { keyed } } } } },
      [{ keyed }],
      keyed,
      "text",
      undefined,
    ];
    for (const answer of answers) expect(jsonTextReusingParts(answer)).toBe(JSON.stringify(answer));
    expect(() => jsonTextReusingParts({ data: { n: 1n } })).toThrow(TypeError);
  });
});
