import { describe, expect, it } from "vitest";
import { ifNoneMatchMatches, weakEtagOf } from "../../functions/lib/etag";

describe("entity tags (RFC 9110)", () => {
  const tag = weakEtagOf('{"data":1}');

  it("are weak, and differ for different answers", () => {
    expect(tag).toMatch(/^W\/"[0-9a-z]+-[0-9a-z]+"$/);
    expect(weakEtagOf('{"data":2}')).not.toBe(tag);
    expect(weakEtagOf('{"data":1}')).toBe(tag);
  });

  it("If-None-Match compares weakly, takes lists and *, and ignores what is no entity-tag", () => {
    const opaque = tag.slice(2);
    expect(ifNoneMatchMatches(tag, tag)).toBe(true);
    expect(ifNoneMatchMatches(opaque, tag), "the strong form of the same opaque-tag").toBe(true);
    expect(ifNoneMatchMatches(`"x", ${tag} ,W/"y"`, tag), "in a list").toBe(true);
    expect(ifNoneMatchMatches(`"x",${opaque}`, tag)).toBe(true);
    expect(ifNoneMatchMatches("*", tag)).toBe(true);
    expect(ifNoneMatchMatches(" * ", tag)).toBe(true);
    expect(ifNoneMatchMatches(undefined, tag)).toBe(false);
    expect(ifNoneMatchMatches("", tag)).toBe(false);
    expect(ifNoneMatchMatches('W/"other"', tag)).toBe(false);
    expect(ifNoneMatchMatches(opaque.slice(1, -1), tag), "unquoted").toBe(false);
    expect(ifNoneMatchMatches(`"${opaque}"`, tag), "quoted twice").toBe(false);
  });
});
