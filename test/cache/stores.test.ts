import { randomUUID } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheStore } from "../../functions/cache/store";
import { ManualClock } from "../../functions/lib/clock";
import { deleteByPrefix, REDIS_URL, runPrefix, sleep, startBackend, STORE_KINDS, type StoreBackend } from "./support";

/** The contract every shared store keeps, whatever carries it. */
describe.each(STORE_KINDS)("the %s store", (kind) => {
  const prefix = runPrefix(`store-${kind}`);
  const clock = new ManualClock("2026-03-01T12:00:00Z");
  let backend: StoreBackend;
  let store: CacheStore;

  beforeAll(async () => {
    backend = await startBackend(kind);
    store = backend.open(clock);
  });
  afterAll(async () => {
    await backend.stop();
    if (kind !== "memory") await deleteByPrefix(prefix);
  });

  it("answers each key's value, or null, in the order asked", async () => {
    await store.set(`${prefix}a`, "alpha", 60_000);
    await store.set(`${prefix}c`, "γ ünïcødé ✓", 60_000);
    expect(await store.get([`${prefix}a`, `${prefix}b`, `${prefix}c`])).toEqual(["alpha", null, "γ ünïcødé ✓"]);
    expect(await store.get([])).toEqual([]);
  });

  it("keeps values byte for byte, including JSON and strings that look like other things", async () => {
    const values = ['{"v":[1,2,{"x":null}]}', "OK", "42", "", "T0s=", "line\nbreak"];
    for (const [i, value] of values.entries()) await store.set(`${prefix}raw:${i}`, value, 60_000);
    expect(await store.get(values.map((_, i) => `${prefix}raw:${i}`))).toEqual(values);
  });

  it("forgets a value after its TTL", async () => {
    await store.set(`${prefix}short`, "soon gone", 400);
    expect(await store.get([`${prefix}short`])).toEqual(["soon gone"]);
    await backend.elapse(clock, 800);
    expect(await store.get([`${prefix}short`])).toEqual([null]);
  });

  it("deletes keys", async () => {
    await store.set(`${prefix}d1`, "1", 60_000);
    await store.set(`${prefix}d2`, "2", 60_000);
    await store.delete([`${prefix}d1`, `${prefix}d2`, `${prefix}never-there`]);
    expect(await store.get([`${prefix}d1`, `${prefix}d2`])).toEqual([null, null]);
    await store.delete([]);
  });

  it("writes guarded only while every guard holds", async () => {
    await store.set(`${prefix}version`, "v1", 60_000);
    const guards = [
      { key: `${prefix}version`, equals: "v1" },
      { key: `${prefix}generation`, equals: null },
    ];
    expect(await store.setIf(`${prefix}entry`, "first", 60_000, guards)).toBe(true);
    expect(await store.get([`${prefix}entry`])).toEqual(["first"]);

    await store.set(`${prefix}generation`, "g2", 60_000);
    expect(await store.setIf(`${prefix}entry`, "second", 60_000, guards)).toBe(false);
    await store.set(`${prefix}version`, "v2", 60_000);
    expect(await store.setIf(`${prefix}entry`, "third", 60_000, [{ key: `${prefix}version`, equals: "v1" }])).toBe(false);
    expect(await store.get([`${prefix}entry`])).toEqual(["first"]);

    expect(await store.setIf(`${prefix}entry`, "fourth", 60_000, [])).toBe(true);
    expect(await store.get([`${prefix}entry`])).toEqual(["fourth"]);
  });

  it.skipIf(kind === "memory")("runs a script by its SHA-1 and sends its text only to a server that lacks it", async () => {
    // a script no server holds yet (its text is unique to this run), watched on Redis itself with MONITOR
    const marker = `${prefix}script:${randomUUID()}`;
    const script = `return {KEYS[1], ARGV[1], '${marker}'}`;
    const seen: string[] = [];
    const monitor = createClient({ url: REDIS_URL, RESP: 2, disableClientInfo: true });
    await monitor.connect();
    try {
      await monitor.monitor((line: string) => {
        const command = /\] "(\w+)"/.exec(line)?.[1]?.toUpperCase();
        if (line.includes(marker)) seen.push(command ?? line);
      });
      await sleep(50);
      expect(await store.eval!(script, [marker], ["a"])).toEqual([marker, "a", marker]);
      expect(await store.eval!(script, [marker], ["b"])).toEqual([marker, "b", marker]);
      await sleep(200);
      // the first call: EVALSHA refused (NOSCRIPT), then the text once; the second: the SHA-1 alone
      expect(seen).toEqual(["EVALSHA", "EVAL", "EVALSHA"]);
    } finally {
      monitor.destroy();
    }
  });
});
