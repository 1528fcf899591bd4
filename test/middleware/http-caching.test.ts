import { gunzipSync, inflateSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { API_CACHE_CONTROL } from "../../functions/middleware/http-caching";
import { ADMIN_KEY, createTestApp, ManualClock, type TestApp } from "../support/app";
import { bearer, describeAnswer, send, type Sent } from "../support/security/http";
import { fixtureFor, operationsOf, urlOf, type Operation } from "../support/security/route-table";
import { buildWorld, type World } from "../support/security/world";
import { useTestApp } from "../support/use-test-app";
import { testTarget } from "../support/worker-target";

/**
 * SPEC §11 HTTP caching on every GET of the OpenAPI document under /api (the route table of the security suites, so a
 * new route cannot skip it): a 200 JSON answer carries a weak ETag and `Cache-Control: private, no-cache`; the same
 * request with a matching If-None-Match (the tag, its strong form, in a list, `*`) answers 304 with no body; a tag that
 * does not match answers 200. A 304 counts for the rate limit. With gzip asked for, the tag is the same.
 */

const clock = new ManualClock("2026-06-10T16:00:00Z");
const t = useTestApp({ clock, rateLimit: false });
let w: World;
let gets: Operation[];

beforeAll(async () => {
  w = await buildWorld(t, ADMIN_KEY);
  gets = operationsOf(t.app).filter((op) => op.method === "GET" && op.path.startsWith("/api/"));
});

function keyOf(op: Operation): string {
  const access = fixtureFor(op).access;
  if (access === "admin") return ADMIN_KEY;
  if (access === "write") return w.own.writeKey;
  return w.own.readKey;
}

async function get(op: Operation, headers: Record<string, string> = {}): Promise<Sent> {
  const spec = await fixtureFor(op).valid(w, t);
  return send(t.app, "GET", urlOf(op.path, spec), { authorization: bearer(keyOf(op)), headers });
}

describe("ETag and 304 on every GET /api route (SPEC §11)", () => {
  it("walks every GET /api operation", () => {
    expect(gets.length).toBeGreaterThan(10);
  });

  it("every JSON answer carries a weak ETag and Cache-Control: private, no-cache, and revalidates to 304", async () => {
    for (const op of gets) {
      const caching = fixtureFor(op).httpCaching;
      if (caching === "not-json") continue;
      await get(op); // the first answer may be a cache miss; the next ones are the same cached bytes
      const first = await get(op);
      expect(first.status, describeAnswer(op.id, first)).toBe(200);
      expect(first.contentType, op.id).toMatch(/^application\/json/);
      const etag = first.headers.get("etag") ?? "";
      expect(etag, op.id).toMatch(/^W\/"[^"]+"$/);
      expect(first.headers.get("cache-control"), op.id).toBe(API_CACHE_CONTROL);
      const again = await get(op);
      if (caching?.volatile) {
        expect(again.headers.get("etag") === etag, `${op.id}: a different answer has a different tag`).toBe(again.text === first.text);
        continue;
      }
      expect(again.headers.get("etag"), `${op.id}: the same answer, the same tag`).toBe(etag);
      for (const ifNoneMatch of [etag, etag.slice(2), `"nope", ${etag}`, "*"]) {
        const revalidated = await get(op, { "if-none-match": ifNoneMatch });
        expect(revalidated.status, `${op.id} with If-None-Match ${ifNoneMatch}: ${describeAnswer(op.id, revalidated)}`).toBe(304);
        expect(revalidated.text, op.id).toBe("");
        expect(revalidated.headers.get("etag"), op.id).toBe(etag);
        expect(revalidated.headers.get("cache-control"), op.id).toBe(API_CACHE_CONTROL);
        expect(revalidated.headers.get("content-type"), op.id).toBeNull();
      }
      const changed = await get(op, { "if-none-match": 'W/"an-older-answer"' });
      expect(changed.status, op.id).toBe(200);
      expect(changed.text, op.id).toBe(first.text);
    }
  });

  it("answers that are not JSON carry no ETag and are not stored", async () => {
    const notJson = gets.filter((op) => fixtureFor(op).httpCaching === "not-json");
    for (const op of notJson) {
      const res = await get(op, { "if-none-match": "*" });
      expect(res.status, describeAnswer(op.id, res)).toBe(200);
      expect(res.contentType, op.id).not.toMatch(/json/);
      expect(res.headers.get("etag"), op.id).toBeNull();
      expect(res.headers.get("cache-control"), op.id).toBe("no-store");
    }
  });

  it("keeps the tag when the answer is gzipped, and revalidates a gzipped answer to 304", async () => {
    const path = "/api/coverage?days=30"; // large enough to be compressed (over 1 KiB)
    await send(t.app, "GET", path, { authorization: bearer(w.own.readKey) }); // warms the cache: the next answers are hits
    const plain = await send(t.app, "GET", path, { authorization: bearer(w.own.readKey) });
    const gzipped = await send(t.app, "GET", path, { authorization: bearer(w.own.readKey), headers: { "accept-encoding": "gzip" } });
    expect(plain.text.length).toBeGreaterThan(1024);
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers.get("etag")).toBe(plain.headers.get("etag"));
    const revalidated = await send(t.app, "GET", path, {
      authorization: bearer(w.own.readKey),
      headers: { "accept-encoding": "gzip", "if-none-match": gzipped.headers.get("etag")! },
    });
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");
  });

  it("errors carry no ETag, whatever If-None-Match says", async () => {
    const res = await send(t.app, "GET", "/api/dashboard/overview?days=0", { authorization: bearer(w.own.readKey), headers: { "if-none-match": "*" } });
    expect(res.status).toBe(400);
    expect(res.headers.get("etag")).toBeNull();
  });
});

describe("compressed answers (SPEC §4: large answers are compressed when the client accepts it)", () => {
  /** The answer's bytes as sent, and its text as the client decompresses it (`content-encoding` gzip or deflate). */
  async function raw(key: string, url: string, acceptEncoding: string) {
    const res = await t.app.request(url, { headers: { authorization: bearer(key), "accept-encoding": acceptEncoding } });
    const bytes = Buffer.from(await res.arrayBuffer());
    const encoding = res.headers.get("content-encoding");
    const text = (encoding === "gzip" ? gunzipSync(bytes) : encoding === "deflate" ? inflateSync(bytes) : bytes).toString("utf8");
    return { status: res.status, headers: res.headers, encoding, bytes, text };
  }

  it("a cache miss and an uncached list go out compressed when asked, and decompress to the answer sent plain, with its tag", async () => {
    const org = await t.createOrg({ timezone: "America/New_York" });
    for (let i = 0; i < 12; i++) {
      const res = await t.request("POST", "/api/calls", {
        key: org.writeKey,
        body: {
          phoneNumber: `+1415555${String(1000 + i)}`,
          direction: "inbound",
          status: "completed",
          durationSec: 60 + i,
          startedAt: new Date(clock.now().getTime() - (i + 1) * 3_600_000).toISOString(),
        },
      });
      expect(res.status).toBe(201);
    }
    // the Worker's runtime compresses there (the app never sees Accept-Encoding): gzip is checked on both targets
    const encodings = testTarget() === "worker" ? ["gzip"] : ["gzip", "deflate"];
    for (const encoding of encodings) {
      // uncached: the same request answers the same text
      const list = "/api/calls?limit=12";
      const plainList = await raw(org.readKey, list, "identity");
      const packedList = await raw(org.readKey, list, encoding);
      expect(plainList.bytes.length, list).toBeGreaterThan(1024);
      expect(plainList.encoding).toBeNull();
      expect(packedList.encoding, list).toBe(encoding);
      expect(packedList.bytes.length, `${list}: smaller compressed`).toBeLessThan(plainList.bytes.length);
      expect(packedList.text, list).toBe(plainList.text);
      expect(packedList.headers.get("etag"), list).toBe(plainList.headers.get("etag"));
      // a window of its own: the first answer is the cache's miss, compressed; the plain one after it is the hit
      const coverage = `/api/coverage?days=${encoding === "gzip" ? 11 : 12}`;
      const miss = await raw(org.readKey, coverage, encoding);
      const hit = await raw(org.readKey, coverage, "identity");
      expect(miss.status, miss.text).toBe(200);
      expect(miss.encoding, coverage).toBe(encoding);
      const [fromMiss, fromHit] = [JSON.parse(miss.text), JSON.parse(hit.text)];
      expect(fromMiss.meta.cache).toBe("miss");
      expect(fromHit.meta.cache).toBe("hit");
      expect(fromMiss.data).toEqual(fromHit.data);
    }
  });
});

describe("a 304 counts for the rate limit", () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await createTestApp({ database: t.database, clock, rateLimit: { requests: 3, windowSec: 60 } });
    return () => limited.close();
  });

  it("the fourth request in the window is refused, though the last two were 304s", async () => {
    // the calls list answers the same bytes while the clock stands still (meta.cache is always bypass)
    const path = "/api/calls?limit=5";
    const key = bearer(w.foreign.readKey);
    const first = await send(limited.app, "GET", path, { authorization: key });
    expect(first.status, describeAnswer(path, first)).toBe(200);
    const etag = first.headers.get("etag")!;
    for (let i = 0; i < 2; i++) expect((await send(limited.app, "GET", path, { authorization: key, headers: { "if-none-match": etag } })).status).toBe(304);
    const fourth = await send(limited.app, "GET", path, { authorization: key, headers: { "if-none-match": etag } });
    expect(fourth.status, describeAnswer(path, fourth)).toBe(429);
  });
});
