import type { CircuitBreakerPolicy, CircuitState, IBreaker, IDefaultPolicyContext } from "cockatiel";
import type { Cockatiel } from "./cockatiel";
import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import type { VoiceStore } from "./store";

export type BreakerState = "closed" | "open" | "half_open" | "isolated";

/** cockatiel's `CircuitState` values (a numeric enum: Closed, Open, HalfOpen, Isolated), named as this API names them */
const STATE_NAMES: Record<CircuitState, BreakerState> = { 0: "closed", 1: "open", 2: "half_open", 3: "isolated" };

/** A retry's failure on its way through the policy: not handled by it, so not counted (see `executeRetry`). */
class UncountedFailure {
  constructor(readonly error: unknown) {}
}

/** What one instance writes to the store: cockatiel's own snapshot, tagged so every write is distinct. */
type SharedSnapshot = { by: string; seq: number; breaker: unknown };

export type SharedBreakerOptions = {
  /** the loaded cockatiel module (see ./cockatiel: never imported statically) */
  cockatiel: Cockatiel;
  store: VoiceStore;
  key: string;
  clock: Clock;
  logger: Logger;
  createBreaker: () => IBreaker;
  halfOpenAfterMs: number;
  /** how often an instance re-reads the shared state; 0 reads before every call */
  syncIntervalMs: number;
  stateTtlMs: number;
  isFailure: (error: unknown) => boolean;
};

/**
 * A cockatiel circuit breaker whose state every instance shares through the store (cockatiel keeps it per
 * process; `toJSON()`/`initialState` are its hooks for persisting it).
 *
 * An instance writes a snapshot when its breaker opens or closes, and adopts the stored snapshot (rebuilding its
 * breaker from it) whenever that is not the one it last wrote or adopted: the last writer wins. Half-opening is not
 * written: cockatiel serializes a half-open breaker as "open since 0", which would send every instance probing at
 * once; the instance that probes writes the outcome. The open interval is measured on the wall clock (`Date.now()`
 * in cockatiel), which instances share closely enough for a seconds-long half-open delay.
 */
export class SharedCircuitBreaker {
  private policy: CircuitBreakerPolicy;
  private readonly instanceId = crypto.randomUUID();
  private seq = 0;
  /** the stored text this instance last wrote or adopted */
  private lastSeen: string | null = null;
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: SharedBreakerOptions) {
    this.policy = this.build(undefined);
  }

  get state(): BreakerState {
    return STATE_NAMES[this.policy.state];
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.sync();
    try {
      return await this.policy.execute(fn, signal);
    } finally {
      // the transition this call caused is stored before its caller hears the outcome
      await this.writing;
    }
  }

  /**
   * Runs an attempt whose failure says nothing new about the provider: a retry of a call whose first attempt `execute`
   * counted, or a call for an agent already known to be failing. One call's retries, or one broken agent's calls,
   * counted as failures let a few broken agents outweigh every healthy one. While the circuit is closed only its
   * success counts (the provider answered); once the open interval has passed it may be the half-open probe, counted
   * both ways like any probe, so a circuit opened while every agent was failing still closes when the provider is back.
   */
  async executeRetry<T>(fn: (context: IDefaultPolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.sync();
    const { BrokenCircuitError, CircuitState, IsolatedCircuitError } = this.options.cockatiel;
    const state = this.policy.state;
    if (state === CircuitState.Isolated) throw new IsolatedCircuitError();
    // another call is the probe; cockatiel would queue this one behind it, a retry is better refused
    if (state === CircuitState.HalfOpen) throw new BrokenCircuitError();
    try {
      if (state === CircuitState.Open) return await this.policy.execute(fn, signal);
      return await this.policy.execute(async (context) => {
        try {
          return await fn(context);
        } catch (error) {
          throw new UncountedFailure(error);
        }
      }, signal);
    } catch (error) {
      throw error instanceof UncountedFailure ? error.error : error;
    } finally {
      await this.writing;
    }
  }

  /** Adopts the shared state if another instance changed it; read at most once per sync interval. */
  async sync(): Promise<void> {
    const now = this.options.clock.now().getTime();
    if (now - this.lastSyncAt < this.options.syncIntervalMs) return;
    this.syncing ??= this.adoptShared().finally(() => {
      this.lastSyncAt = now;
      this.syncing = null;
    });
    await this.syncing;
  }

  private async adoptShared(): Promise<void> {
    let raw: string | null;
    try {
      raw = await this.options.store.get(this.options.key);
    } catch (error) {
      this.options.logger.log("warn", "voice breaker state read failed", { error: String(error) });
      return;
    }
    if (raw === null || raw === this.lastSeen) return;
    try {
      const shared = JSON.parse(raw) as SharedSnapshot;
      this.lastSeen = raw;
      if (shared.by === this.instanceId) return;
      const before = this.state;
      this.policy = this.build(shared.breaker);
      if (this.state !== before) this.options.logger.log("info", "voice breaker adopted shared state", { state: this.state });
    } catch (error) {
      this.options.logger.log("warn", "voice breaker state unreadable", { error: String(error) });
    }
  }

  private build(initialState: unknown): CircuitBreakerPolicy {
    const { circuitBreaker, handleWhen, CircuitState } = this.options.cockatiel;
    const policy = circuitBreaker(
      handleWhen((error) => !(error instanceof UncountedFailure) && this.options.isFailure(error)),
      {
        breaker: this.options.createBreaker(),
        halfOpenAfter: this.options.halfOpenAfterMs,
        initialState,
      },
    );
    policy.onStateChange((state) => {
      // a replaced breaker may still finish a call; only the current one speaks for this instance
      if (policy !== this.policy) return;
      this.options.logger.log(state === CircuitState.Open ? "warn" : "info", "voice breaker state changed", {
        state: STATE_NAMES[state],
      });
      if (state === CircuitState.Open || state === CircuitState.Closed) this.publish(policy);
    });
    return policy;
  }

  private publish(policy: CircuitBreakerPolicy): void {
    this.seq += 1;
    const raw = JSON.stringify({ by: this.instanceId, seq: this.seq, breaker: policy.toJSON() } satisfies SharedSnapshot);
    this.lastSeen = raw;
    this.writing = this.writing.then(() =>
      this.options.store.set(this.options.key, raw, this.options.stateTtlMs).catch((error: unknown) => {
        this.options.logger.log("warn", "voice breaker state write failed", { error: String(error) });
      }),
    );
  }
}
