import type { CircuitState, IBreaker } from "cockatiel";
import type { Cockatiel } from "./cockatiel";
import type { Clock } from "../lib/clock";

type Slice = { at: number; failures: number; successes: number };

export type FailureRatioBreakerOptions = {
  /** the loaded cockatiel module's `CircuitState` (see ./cockatiel: never imported statically) */
  states: Cockatiel["CircuitState"];
  clock: Clock;
  /** opens when more than this share of the calls in the window failed */
  threshold: number;
  windowMs: number;
  /** fewer calls than this in the window never open it */
  minimumCalls: number;
};

/** The window is kept in slices this long: 10 to 30 of them for windows of 10 to 30 s. */
const SLICE_MS = 1_000;

/**
 * A cockatiel breaker that opens when more than `threshold` of the calls of the last `windowMs` failed, once the window
 * holds `minimumCalls`. It is cockatiel's `SamplingBreaker` with two changes: slices leave the window when they are
 * older than it on the injected clock (the `SamplingBreaker` moves one slice per call, so a burst of answers before a
 * quiet minute still outweighs the failures of an outage that follows it), and the minimum is a number of calls rather
 * than a rate. Its state is plain JSON, shared between instances through the shared breaker's snapshot.
 */
export class FailureRatioBreaker implements IBreaker {
  private slices: Slice[] = [];

  constructor(private readonly options: FailureRatioBreakerOptions) {
    if (!(options.threshold > 0 && options.threshold < 1)) throw new RangeError("threshold must be between 0 and 1");
  }

  get state(): unknown {
    return { slices: this.slices };
  }

  set state(value: unknown) {
    const slices = (value as { slices?: unknown } | null)?.slices;
    this.slices = Array.isArray(slices)
      ? slices.filter((s): s is Slice => typeof s?.at === "number" && typeof s.failures === "number" && typeof s.successes === "number")
      : [];
  }

  success(state: CircuitState): void {
    // a successful probe closes the circuit on a clean window, as the SamplingBreaker does
    if (state === this.options.states.HalfOpen) this.slices = [];
    this.push(true);
  }

  failure(state: CircuitState): boolean {
    this.push(false);
    if (state !== this.options.states.Closed) return true;
    let failures = 0;
    let total = 0;
    for (const slice of this.slices) {
      failures += slice.failures;
      total += slice.failures + slice.successes;
    }
    return total >= this.options.minimumCalls && failures > this.options.threshold * total;
  }

  private push(success: boolean): void {
    const now = this.options.clock.now().getTime();
    const start = now - (now % SLICE_MS);
    this.slices = this.slices.filter((s) => s.at > now - this.options.windowMs);
    let current = this.slices[this.slices.length - 1];
    if (!current || current.at !== start) this.slices.push((current = { at: start, failures: 0, successes: 0 }));
    if (success) current.successes += 1;
    else current.failures += 1;
  }
}
