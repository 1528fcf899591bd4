import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import type { CacheStore } from "../../functions/cache/store";
import { memoryStore } from "../../functions/cache/memory";
import { redisStore } from "../../functions/cache/redis";
import { upstashStore } from "../../functions/cache/upstash";
import type { Clock } from "../../functions/lib/clock";
import { startUpstashRest, type UpstashRestFixture } from "../fixtures/upstash-rest";

/** CI and this machine run Redis; the cache suites require it rather than skip. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix of this run alone: parallel runs over one Redis never meet, and cleanup deletes exactly ours. */
export const runPrefix = (label: string) => `tally-test:${label}:${randomUUID().slice(0, 8)}:`;

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deleteByPrefix(prefix: string): Promise<number> {
  const client = createClient({ url: REDIS_URL, RESP: 2, disableClientInfo: true });
  client.on("error", () => {});
  await client.connect();
  let deleted = 0;
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
  } finally {
    client.destroy();
  }
  return deleted;
}

export type StoreKind = "memory" | "redis" | "upstash";

/**
 * One kind of shared store for a suite: `open` hands out stores over one shared backing (one Redis, one fixture, one
 * in-process map), the way app instances share one Redis.
 */
export type StoreBackend = {
  kind: StoreKind;
  open(clock: Clock): CacheStore;
  /** lets real time pass for stores whose TTLs run on Redis's clock, and the manual clock for the in-process one */
  elapse(clock: { advance(ms: number): void }, ms: number): Promise<void>;
  stop(): Promise<void>;
};

export const STORE_KINDS: StoreKind[] = ["memory", "redis", "upstash"];

export async function startBackend(kind: StoreKind): Promise<StoreBackend> {
  const opened: CacheStore[] = [];
  const track = (store: CacheStore) => (opened.push(store), store);
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  };

  if (kind === "memory") {
    let shared: { clock: Clock; store: CacheStore } | undefined;
    return {
      kind,
      open(clock) {
        // one map per clock: the instances of one test share it
        if (shared?.clock !== clock) shared = { clock, store: memoryStore(clock) };
        return shared.store;
      },
      async elapse(clock, ms) {
        clock.advance(ms);
      },
      async stop() {},
    };
  }
  if (kind === "redis") {
    return {
      kind,
      open: () => track(redisStore({ url: REDIS_URL, timeoutMs: 500 })),
      elapse: (_clock, ms) => sleep(ms),
      stop: closeAll,
    };
  }
  const fixture: UpstashRestFixture = await startUpstashRest({ redisUrl: REDIS_URL });
  return {
    kind,
    open: () => track(upstashStore({ url: fixture.url, token: fixture.token, timeoutMs: 1_000 })),
    elapse: (_clock, ms) => sleep(ms),
    async stop() {
      await closeAll();
      await fixture.close();
    },
  };
}

/** A promise with its resolver outside, for loads a test holds open. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
