import { randomUUID } from "node:crypto";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { createCache } from "../../functions/cache";
import { memoryCache } from "../../functions/cache/memory";
import { cacheNamespace, orgKey } from "../../functions/cache/namespaces";
import { CacheConfigError, createNodeCache } from "../../functions/cache/node";
import { ManualClock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import { startUpstashRest } from "../fixtures/upstash-rest";
import { deleteByPrefix, REDIS_URL, runPrefix } from "./support";

const prefix = runPrefix("factory");
afterAll(async () => {
  await deleteByPrefix(prefix);
});

describe("the cache factories", () => {
  const clock = () => new ManualClock("2026-03-01T12:00:00Z");

  it("builds a working cache for every store the Node entry can name", async () => {
    const upstash = await startUpstashRest({ redisUrl: REDIS_URL });
    try {
      const options = [
        { store: "memory" as const },
        { store: "redis" as const, url: REDIS_URL },
        { store: "upstash" as const, url: upstash.url, token: upstash.token, timeoutMs: 2_000 },
      ];
      for (const option of options) {
        const cache = createNodeCache({ ...option, clock: clock(), logger: silentLogger, keyPrefix: prefix });
        const key = orgKey(randomUUID(), "days", 30);
        await cache.fetch("overview", key, async () => option.store, { freshSec: 60 });
        expect(await cache.fetch("overview", key, async () => "reloaded", { freshSec: 60 })).toMatchObject({ status: "hit", value: option.store });
        expect(cache.stats().store?.kind).toBe(option.store);
        await cache.close();
      }
    } finally {
      await upstash.close();
    }
  });

  it("refuses to build a Redis or Upstash cache without its settings", () => {
    expect(() => createNodeCache({ store: "redis", clock: clock(), logger: silentLogger })).toThrow(CacheConfigError);
    expect(() => createNodeCache({ store: "upstash", url: "http://127.0.0.1:1", clock: clock(), logger: silentLogger })).toThrow(/UPSTASH_REDIS_REST_TOKEN/);
  });

  it("keeps memoryCache(clock) answering as before", async () => {
    const cache = memoryCache(clock());
    expect(await cache.fetch("overview", "org:1", async () => 1, { freshSec: 60 })).toMatchObject({ status: "miss", value: 1 });
    expect(await cache.fetch("overview", "org:1", async () => 2, { freshSec: 60 })).toMatchObject({ status: "hit", value: 1 });
    expect(cache.stats().store?.kind).toBe("memory");
  });

  it("fetches through a typed namespace with its declared policy", async () => {
    const settings = cacheNamespace<{ timezone: string }>({ name: "settings", kind: "config", freshSec: 300 });
    const cache = createCache({ store: "memory", clock: clock(), logger: silentLogger });
    const key = orgKey(randomUUID());
    const result = await settings.fetch(cache, key, async () => ({ timezone: "UTC" }));
    expect(result).toMatchObject({ status: "miss", ttlSec: 300, value: { timezone: "UTC" } });
    await settings.invalidate(cache, key);
    expect((await settings.fetch(cache, key, async () => ({ timezone: "Asia/Tokyo" }))).value.timezone).toBe("Asia/Tokyo");
    expect(() => cacheNamespace({ name: "Not:Valid", freshSec: 1 })).toThrow(TypeError);
  });
});

describe("the cache modules' runtimes", () => {
  const bundle = (entry: string) =>
    build({
      entryPoints: [entry],
      bundle: true,
      platform: "browser", // no Node built-ins: a `node:*` import anywhere fails the build
      conditions: ["workerd", "worker", "browser"],
      format: "esm",
      write: false,
      logLevel: "silent",
      metafile: true,
    });
  const packages = (inputs: Record<string, unknown>) =>
    [...new Set(Object.keys(inputs).flatMap((path) => path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []))].sort();

  it("bundles the Workers cache without Node modules or node-redis", async () => {
    const result = await bundle("functions/cache/worker.ts");
    expect(packages(result.metafile.inputs)).not.toContain("redis");
    expect(packages(result.metafile.inputs)).not.toContain("@redis/client");
    expect(packages(result.metafile.inputs)).toContain("@upstash/redis");
  });

  it("bundles the runtime-neutral cache without any package", async () => {
    const result = await bundle("functions/cache/index.ts");
    expect(packages(result.metafile.inputs)).toEqual([]);
  });
});
