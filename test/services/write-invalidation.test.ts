import { describe, expect, it } from "vitest";
import type { Cache } from "../../functions/cache/cache";
import { createCache } from "../../functions/cache/index";
import { ManualClock } from "../../functions/lib/clock";
import { silentLogger } from "../../functions/lib/logger";
import { invalidateOrgAfterWrite } from "../../functions/services/write-invalidation";
import { deferred } from "../cache/support";

/**
 * A real in-process cache whose version moves are recorded (the step each began and ended at) and, while `hold` is
 * set, kept from ending until it is released.
 */
function recordedCache() {
  const real = createCache({ store: "memory", clock: new ManualClock("2026-12-01T00:00:00Z"), logger: silentLogger });
  const moves: { org: string; began: number; ended?: number }[] = [];
  let step = 0;
  let hold: Promise<void> | null = null;
  const cache = new Proxy(real, {
    get(target, name) {
      if (name === "invalidateOrg")
        return async (org: string) => {
          const move: { org: string; began: number; ended?: number } = { org, began: ++step };
          moves.push(move);
          if (hold) await hold;
          await target.invalidateOrg(org);
          move.ended = ++step;
        };
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Cache;
  return {
    cache,
    moves,
    step: () => ++step,
    hold() {
      const gate = deferred<void>();
      hold = gate.promise;
      return () => {
        hold = null;
        gate.resolve();
      };
    },
  };
}

describe("invalidateOrgAfterWrite", () => {
  it("moves the version once for each write that comes alone", async () => {
    const { cache, moves } = recordedCache();
    await invalidateOrgAfterWrite(cache, "org-a");
    await invalidateOrgAfterWrite(cache, "org-a");
    expect(moves).toHaveLength(2);
  });

  it("lets the writes that commit while a move is under way share the next one, begun after all of them", async () => {
    const { cache, moves, step, hold } = recordedCache();
    const release = hold();
    const first = invalidateOrgAfterWrite(cache, "org-a");
    const calls = Array.from({ length: 5 }, () => {
      const calledAt = step();
      return invalidateOrgAfterWrite(cache, "org-a").then(() => ({ calledAt, answeredAt: step() }));
    });
    release();
    await first;
    const answers = await Promise.all(calls);
    expect(moves).toHaveLength(2);
    const second = moves[1]!;
    for (const { calledAt, answeredAt } of answers) {
      expect(second.began, "the move a write waits for began after the write").toBeGreaterThan(calledAt);
      expect(answeredAt, "a write answers after that move ended").toBeGreaterThan(second.ended!);
    }
  });

  it("never lets one organization's writes wait for another's move", async () => {
    const { cache, moves, hold } = recordedCache();
    const release = hold();
    const a = invalidateOrgAfterWrite(cache, "org-a");
    const b = invalidateOrgAfterWrite(cache, "org-b");
    expect(moves.map((m) => m.org)).toEqual(["org-a", "org-b"]);
    release();
    await Promise.all([a, b]);
  });

  it("moves the version again for a write that comes after the shared move ended", async () => {
    const { cache, moves } = recordedCache();
    await Promise.all([invalidateOrgAfterWrite(cache, "org-a"), invalidateOrgAfterWrite(cache, "org-a"), invalidateOrgAfterWrite(cache, "org-a")]);
    expect(moves).toHaveLength(2);
    await invalidateOrgAfterWrite(cache, "org-a");
    expect(moves).toHaveLength(3);
  });
});
