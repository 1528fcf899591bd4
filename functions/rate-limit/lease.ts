import { windowEstimate, type WindowCounts } from "./algorithm";
import type { RateLimitStore } from "./stores";

/** How long counts the store answered may be counted on in process (the cached-read lane's lease, issue #15). */
export const COUNT_LEASE_MS = 250;
/** How long requests admitted in process wait, at most, before they are added to the store's count. */
export const COUNT_FLUSH_MS = 50;

type Leased = {
  bucket: number;
  /** the store's counts at the last sync */
  previous: number;
  current: number;
  /** admitted here, not yet sent to the store */
  unsynced: number;
  /** sent to the store, no answer yet */
  sending: number;
  syncedAt: number;
};

/**
 * One limit's counts kept in process between syncs with the shared store: a key whose count the store answered less
 * than `leaseMs` ago is admitted here, with no round trip, while its estimate (the store's counts plus what this
 * instance admitted since) stays `margin` below the limit; the requests admitted so are added to the store's count
 * within `flushMs` (one command per key, whatever the number of requests). Nearer the limit, or with an older sync,
 * the caller asks the store as before (`SlidingLimit.hit`); its answer, and each flush's, renews the lease.
 *
 * What this costs in exactness, and only on the requests it admits: another instance's requests of the last
 * `flushMs` are not seen here, so a key used on k instances at once may pass its limit by what k − 1 instances admit
 * in one flush interval once its estimate is within `margin` of the limit; one instance alone never passes it. Its
 * `RateLimit-Remaining` is this instance's estimate. A store failure during a flush loses those counts (the limiter
 * fails open, as a failed `hit` does).
 */
export class LeasedCounts {
  readonly #keys = new Map<string, Leased>();
  /** counts admitted in a bucket that has since ended, to send with the next flush */
  readonly #leftovers: { key: string; bucket: number; n: number }[] = [];
  readonly #margin: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;

  constructor(
    /** the shared store's `add` */
    private readonly add: NonNullable<RateLimitStore["add"]>,
    private readonly limits: { limit: number; windowMs: number; leaseMs?: number; flushMs?: number },
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.#margin = Math.max(1, Math.ceil(limits.limit / 10));
  }

  /** The store answered an exact count for `key` (its request counted when admitted): the lease starts again from it. */
  synced(key: string, bucket: number, counts: WindowCounts, nowMs: number): void {
    const leased = this.#keys.get(key);
    if (!leased) {
      this.#keys.set(key, { bucket, previous: counts.previous, current: counts.current, unsynced: 0, sending: 0, syncedAt: nowMs });
      return;
    }
    if (leased.bucket > bucket) return; // an answer about an older bucket than the one held: keep the newer
    if (leased.bucket < bucket) {
      // what was admitted in the bucket that ended is still sent, to that bucket
      if (leased.unsynced > 0) this.#leftovers.push({ key, bucket: leased.bucket, n: leased.unsynced });
      Object.assign(leased, { bucket, unsynced: 0, sending: 0 });
    }
    Object.assign(leased, { previous: counts.previous, current: counts.current, syncedAt: nowMs });
  }

  /** Admits one request of `key` in process and answers the counts it sees (this request included), or undefined: ask the store. */
  admit(key: string, bucket: number, elapsedMs: number, nowMs: number): WindowCounts | undefined {
    const leased = this.#keys.get(key);
    if (!leased || leased.bucket !== bucket || nowMs - leased.syncedAt >= (this.limits.leaseMs ?? COUNT_LEASE_MS)) return undefined;
    const current = leased.current + leased.sending + leased.unsynced;
    if (windowEstimate(leased.previous, current, elapsedMs, this.limits.windowMs) + 1 + this.#margin > this.limits.limit) return undefined;
    leased.unsynced += 1;
    this.#schedule();
    return { admitted: true, previous: leased.previous, current: current + 1 };
  }

  /** Sends every count admitted here and not yet sent (the timer does this within `flushMs`). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const previous = this.#flushing ?? Promise.resolve();
    const flushing = previous.then(() => this.#send());
    this.#flushing = flushing;
    void flushing.finally(() => {
      if (this.#flushing === flushing) this.#flushing = undefined;
    });
    return flushing;
  }

  /** Sends what this instance admitted of `key` and has not sent, before the store is asked for its exact count; undefined when nothing is pending. */
  flushKey(key: string): Promise<void> | undefined {
    const leased = this.#keys.get(key);
    return leased && leased.unsynced > 0 ? this.#sendKey(key, leased) : undefined;
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => void this.flush(), this.limits.flushMs ?? COUNT_FLUSH_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #send(): Promise<void> {
    const sends: Promise<void>[] = [];
    const { windowMs } = this.limits;
    for (const { key, bucket, n } of this.#leftovers.splice(0)) sends.push(this.add({ key, bucket, n, windowMs }).then(() => {}, this.onError));
    for (const [key, leased] of this.#keys) {
      if (leased.unsynced === 0) {
        // a lease that ran out with nothing to send is forgotten: the next request asks the store
        if (leased.sending === 0 && this.now() - leased.syncedAt >= 4 * (this.limits.leaseMs ?? COUNT_LEASE_MS)) this.#keys.delete(key);
        continue;
      }
      sends.push(this.#sendKey(key, leased));
    }
    await Promise.all(sends);
  }

  #sendKey(key: string, leased: Leased): Promise<void> {
    const n = leased.unsynced;
    const { bucket } = leased;
    leased.unsynced = 0;
    leased.sending += n;
    return this.add({ key, bucket, n, windowMs: this.limits.windowMs }).then(
      (counts) => {
        leased.sending -= n;
        // the store's counts, other instances' included: the lease is renewed by every flush
        if (leased.bucket === bucket) Object.assign(leased, { previous: counts.previous, current: counts.current, syncedAt: this.now() });
      },
      (error: unknown) => {
        leased.sending -= n;
        this.onError(error);
      },
    );
  }
}
