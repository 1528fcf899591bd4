import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { cachedAnswer, checkedAnswer, jsonTextOf } from "../../functions/lib/respond";

const schema = z.object({ data: z.object({ total: z.number().int() }), meta: z.object({ cache: z.string() }) });

describe("checkedAnswer", () => {
  it("answers the very object it was given when responses are not validated", () => {
    const answer = { data: { total: 1 }, meta: { cache: "hit" } };
    expect(checkedAnswer(false, schema, answer)).toBe(answer);
  });

  it("parses when validating, and fails an answer the parse would change or refuse", () => {
    expect(checkedAnswer(true, schema, { meta: { cache: "hit" }, data: { total: 1 } })).toEqual({ data: { total: 1 }, meta: { cache: "hit" } });
    expect(() => checkedAnswer(true, schema, { data: { total: 1, extra: 2 }, meta: { cache: "hit" } } as never)).toThrow(/does not describe/);
    expect(() => checkedAnswer(true, schema, { data: { total: 1.5 }, meta: { cache: "hit" } })).toThrow();
  });
});

describe("cachedAnswer", () => {
  it("builds one answer per cached value, status, asOf and ttlSec, and serializes it once", () => {
    const value = { n: 1 };
    const result = { value, status: "hit", asOf: new Date(1_000), ttlSec: 30 };
    let builds = 0;
    const build = () => ({ data: value, meta: { cache: result.status, builds: ++builds } });
    const first = cachedAnswer(result, build);
    expect(cachedAnswer({ ...result, asOf: new Date(1_000) }, build)).toBe(first);
    expect(cachedAnswer({ ...result, status: "stale" }, build)).not.toBe(first);
    expect(builds).toBe(2);
    const again = cachedAnswer({ ...result, status: "stale" }, build);
    expect(jsonTextOf(again)).toBe(jsonTextOf(again));
    expect(jsonTextOf(again).text).toBe(JSON.stringify(again));
    // an answer built elsewhere is serialized each time (a fresh text of the same JSON)
    const plain = { a: 1 };
    expect(jsonTextOf(plain)).not.toBe(jsonTextOf(plain));
    expect(jsonTextOf(plain)).toEqual(jsonTextOf(plain));
  });
});
