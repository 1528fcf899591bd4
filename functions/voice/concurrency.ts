import type { BulkheadPolicy } from "cockatiel";
import type { Cockatiel } from "./cockatiel";
import type { Clock } from "../lib/clock";

/**
 * The provider plan's concurrency limit, narrowed for a while when the provider answers
 * `too_many_concurrent_requests` (our instances together exceeded the plan, or the plan is smaller than
 * configured).
 *
 * cockatiel's bulkhead has a fixed capacity, so the narrowing is a second bulkhead of the current narrower size
 * behind the plan-sized one. A new gate starts with one "ballast" execution per request already in flight that
 * holds a slot until that request ends; cockatiel's queue is first-in first-out, so no new request passes before
 * the in-flight ones fit under the new size. In-flight requests never exceed the plan size, and never the
 * narrowed size once they are all issued under it.
 *
 * Halved on each `too_many_concurrent_requests` answered to a request issued at the current size (answers to
 * requests issued before the last change are echoes of the same overload); one step back up per `recoveryMs`
 * without one.
 */
export class ProviderConcurrency {
  private readonly plan: BulkheadPolicy;
  private narrowed: BulkheadPolicy | null = null;
  private size: number;
  /** moves on each size change; a request remembers the one it was issued under */
  private generation = 0;
  private changedAt = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      /** the loaded cockatiel module (see ./cockatiel: never imported statically) */
      cockatiel: Cockatiel;
      limit: number;
      /** requests waiting for a slot beyond which new ones are refused (`queue_full`) */
      queueLimit: number;
      recoveryMs: number;
      clock: Clock;
      isConcurrencyLimitError: (error: unknown) => boolean;
      onChange?: (size: number) => void;
    },
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError("concurrency limit must be a positive integer");
    this.plan = options.cockatiel.bulkhead(options.limit, options.queueLimit);
    this.size = options.limit;
  }

  /** The number of requests allowed in flight now. */
  get limit(): number {
    this.recover();
    return this.size;
  }

  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.plan.execute(() => this.throughNarrowed(fn, signal), signal);
  }

  private throughNarrowed<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.recover();
    const gate = this.narrowed;
    if (!gate) return this.track(fn);
    // a request queued at a gate that has since been replaced goes on to the current one
    return gate.execute(() => (gate === this.narrowed ? this.track(fn) : this.throughNarrowed(fn, signal)), signal);
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.inFlight.add(done);
    try {
      return await fn();
    } catch (error) {
      if (this.options.isConcurrencyLimitError(error) && generation === this.generation) {
        this.resize(Math.max(1, Math.floor(this.size / 2)));
      }
      throw error;
    } finally {
      this.inFlight.delete(done);
      finish();
    }
  }

  private recover(): void {
    if (this.size >= this.options.limit) return;
    if (this.options.clock.now().getTime() - this.changedAt >= this.options.recoveryMs) this.resize(this.size + 1);
  }

  private resize(size: number): void {
    this.size = size;
    this.generation += 1;
    this.changedAt = this.options.clock.now().getTime();
    if (size >= this.options.limit) {
      this.narrowed = null;
    } else {
      const gate = this.options.cockatiel.bulkhead(size, Number.POSITIVE_INFINITY);
      for (const done of this.inFlight) void gate.execute(() => done);
      this.narrowed = gate;
    }
    this.options.onChange?.(size);
  }
}
