import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tieredCache } from "../../functions/cache/tiered";
import { upstashStore } from "../../functions/cache/upstash";
import { ManualClock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import { startUpstashRest, type UpstashRestFixture } from "../fixtures/upstash-rest";
import { deleteByPrefix, REDIS_URL, runPrefix } from "./support";

/** The fixture must speak Upstash's protocol as the real service does, or the Upstash store's tests prove nothing. */
describe("the Upstash REST fixture", () => {
  const prefix = runPrefix("upstash-fixture");
  let fixture: UpstashRestFixture;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${fixture.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${fixture.token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    fixture = await startUpstashRest({ redisUrl: REDIS_URL });
  });
  afterAll(async () => {
    await fixture.close();
    await deleteByPrefix(prefix);
  });

  it("refuses a request without the bearer token", async () => {
    const res = await fetch(fixture.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
    const wrong = await post("/", ["PING"], { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
  });

  it("runs one command from a JSON array and answers { result }", async () => {
    expect(await (await post("/", ["SET", `${prefix}k`, "value", "PX", 60_000])).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", `${prefix}k`])).json()).toEqual({ result: "value" });
    expect(await (await post("/", ["INCR", `${prefix}n`])).json()).toEqual({ result: 1 });
    expect(await (await post("/", ["GET", `${prefix}missing`])).json()).toEqual({ result: null });
  });

  it("answers a Redis error as { error } with status 400", async () => {
    const res = await post("/", ["GET"]);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error, JSON.stringify(body)).toMatch(/wrong number of arguments/);
  });

  it("base64-encodes every string result but OK when asked to", async () => {
    await post("/", ["SET", `${prefix}b64`, "héllo"]);
    const encoded = { "upstash-encoding": "base64" };
    expect(await (await post("/", ["GET", `${prefix}b64`], encoded)).json()).toEqual({ result: Buffer.from("héllo").toString("base64") });
    expect(await (await post("/", ["SET", `${prefix}b64`, "x"], encoded)).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["MGET", `${prefix}b64`, `${prefix}none`], encoded)).json()).toEqual({ result: ["eA==", null] });
  });

  it("runs a pipeline and a multi-exec transaction, each command with its own result or error", async () => {
    const pipeline = await post("/pipeline", [["SET", `${prefix}p`, "1"], ["INCR", `${prefix}p`], ["GET"]]);
    const replies = (await pipeline.json()) as Array<{ result?: unknown; error?: string }>;
    expect(replies.slice(0, 2)).toEqual([{ result: "OK" }, { result: 2 }]);
    expect(replies[2]?.error).toMatch(/wrong number of arguments/);

    const multi = await post("/multi-exec", [
      ["SET", `${prefix}m`, "a"],
      ["APPEND", `${prefix}m`, "b"],
      ["GET", `${prefix}m`],
    ]);
    expect(await multi.json()).toEqual([{ result: "OK" }, { result: 2 }, { result: "ab" }]);
  });

  it("serves the @upstash/redis client, pipelines and transactions included", async () => {
    const client = new Redis({ url: fixture.url, token: fixture.token, enableTelemetry: false });
    await client.set(`${prefix}json`, { calls: 3 });
    expect(await client.get(`${prefix}json`)).toEqual({ calls: 3 });
    expect(await client.mget(`${prefix}json`, `${prefix}absent`)).toEqual([{ calls: 3 }, null]);
    expect(await client.eval("return ARGV[1] .. KEYS[1]", [`${prefix}key`], ["arg:"])).toBe(`arg:${prefix}key`);
    const pipeline = client.pipeline();
    pipeline.incr(`${prefix}count`).incr(`${prefix}count`).get(`${prefix}count`);
    expect(await pipeline.exec()).toEqual([1, 2, 2]);
    const tx = client.multi();
    tx.set(`${prefix}tx`, "x").get(`${prefix}tx`);
    expect(await tx.exec()).toEqual(["OK", "x"]);
  });

  it("lets the cache read a cached key in a single request", async () => {
    const clock = new ManualClock("2026-03-01T12:00:00Z");
    const background: Promise<unknown>[] = [];
    const cache = tieredCache({
      store: upstashStore({ url: fixture.url, token: fixture.token, timeoutMs: 2_000 }),
      clock,
      logger: silentLogger,
      keyPrefix: prefix,
      l1: false,
      waitUntil: (work) => background.push(work),
    });
    const key = `${randomUUID()}:days=30`;
    await cache.fetch("overview", key, async () => 1, { freshSec: 60 });
    await Promise.all(background); // the miss's store write ends after its answer
    const before = fixture.requests;
    expect(await cache.fetch("overview", key, async () => 2, { freshSec: 60 })).toMatchObject({ status: "hit", value: 1 });
    expect(fixture.requests - before, JSON.stringify(fixture.log.slice(-3))).toBe(1);
    await cache.close();
  });
});
