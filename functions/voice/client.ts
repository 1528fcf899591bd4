import type { GeneratorFn, IBackoff, IBreaker } from "cockatiel";
import { systemClock, type Clock } from "../lib/clock";
import { silentLogger, type Logger } from "../lib/logger";
import { VOICE_AGENT_ID_PATTERN, toVoiceAgentConfig, type VoiceAgentConfig } from "./agent-config";
import { loadCockatiel, type Cockatiel } from "./cockatiel";
import { ProviderConcurrency } from "./concurrency";
import { VoiceProviderError, asVoiceProviderError, isBreakerFailure, isConcurrencyLimitError, isRetriedFailure, rateLimitKind } from "./errors";
import { FailureRatioBreaker } from "./ratio-breaker";
import { SharedCircuitBreaker, type BreakerState } from "./shared-breaker";
import { timerSleep, type Sleep } from "./sleep";
import { memoryVoiceStore, type VoiceStore } from "./store";

/** An agent read answers in well under a second; 2 s marks an attempt lost without cutting off a slow, live provider. */
export const VOICE_TIMEOUT_MS = 2_000;
/** Spec §9: retried after 1 s, 2 s and 4 s. */
export const VOICE_MAX_RETRIES = 3;
export const VOICE_BACKOFF_INITIAL_MS = 1_000;
export const VOICE_BACKOFF_MAX_MS = 30_000;
/** ±20 %: spreads the retries of many instances apart while keeping the schedule the spec names. */
export const VOICE_BACKOFF_JITTER = 0.2;
/** Provider plans allow 2, 3, 5, 10 or 15 concurrent requests; set this to the plan (divided among instances). */
export const VOICE_CONCURRENCY = 5;
/** Two dashboards of a few hundred agents fit; past that, refuse (`queue_full`) rather than queue for minutes. */
export const VOICE_QUEUE_LIMIT = 1_000;
/** After a `too_many_concurrent_requests`, one step of concurrency comes back per this quiet interval. */
export const VOICE_CONCURRENCY_RECOVERY_MS = 30_000;
/**
 * The circuit opens when more than this share of the provider calls counted over the window failed: three in four. A
 * provider that is down fails them all; broken agents (deleted at the provider, misconfigured) never come near it
 * however many there are, because each is held back by its own backoff (config-service) and counted once per call,
 * not once per retry (shared-breaker's `executeRetry`).
 */
export const VOICE_BREAKER_FAILURE_RATIO = 0.75;
/**
 * The window the ratio is taken over (`FailureRatioBreaker`, in 1-second slices). Short, so the answers of a warm-up
 * just before an outage leave it within seconds and no longer hold the circuit closed.
 */
export const VOICE_BREAKER_WINDOW_MS = 10_000;
/**
 * Fewer counted calls than this in the window never open the circuit: a dashboard of three agents failing is three
 * agents' problem, held back by their own backoff. A provider that is down reaches it within one agents list of 20
 * agents, or a few seconds of a warm-up run (5 concurrent calls timing out after 2 s).
 */
export const VOICE_BREAKER_MIN_CALLS = 20;
export const VOICE_BREAKER_HALF_OPEN_MS = 10_000;
/** Instances re-read the shared breaker state at most this often, so a batch of 500 agents costs one cache read. */
export const VOICE_BREAKER_SYNC_MS = 1_000;
/** Long enough to outlive any open interval; a closed state needs no expiry but gets one like everything cached. */
export const VOICE_BREAKER_STATE_TTL_MS = 24 * 60 * 60 * 1000;

export type VoiceClientOptions = {
  /** `VOICE_API_URL`, e.g. `https://api.elevenlabs.io` */
  baseUrl: string;
  /** `VOICE_API_KEY`, sent as `xi-api-key` */
  apiKey: string;
  /** per attempt, headers and body together */
  timeoutMs?: number;
  retry?: { maxRetries?: number; initialDelayMs?: number; maxDelayMs?: number; jitter?: number };
  concurrency?: { limit?: number; queueLimit?: number; recoveryMs?: number };
  breaker?: {
    /** the failure ratio over the window that opens the circuit (a `FailureRatioBreaker`, the default) */
    failureRatio?: number;
    windowMs?: number;
    /** calls counted in the window below which the circuit never opens */
    minimumCalls?: number;
    /** a `ConsecutiveBreaker` of this many failed calls in a row instead (tests of the breaker's mechanics) */
    consecutiveFailures?: number;
    /** another cockatiel breaker instead */
    create?: () => IBreaker;
    halfOpenAfterMs?: number;
    syncIntervalMs?: number;
    /** the store key of the shared state; one per provider */
    key?: string;
    stateTtlMs?: number;
  };
  /** shares the breaker state between instances; a private in-memory store when absent */
  store?: VoiceStore;
  clock?: Clock;
  sleep?: Sleep;
  logger?: Logger;
};

/** The voice provider's agents API behind timeout, retry, bulkhead and a shared circuit breaker. */
export interface VoiceClient {
  /**
   * The provider's configuration of one voice agent; null when the provider has no such agent (404). `knownFailing`:
   * the caller knows this agent's lookups have been failing, so its failures say nothing new about the provider and
   * the breaker counts only its success.
   */
  getAgentConfig(voiceAgentId: string, options?: { signal?: AbortSignal; knownFailing?: boolean }): Promise<VoiceAgentConfig | null>;
  readonly breakerState: BreakerState;
  /** requests allowed in flight now: the plan's limit, or less after `too_many_concurrent_requests` */
  readonly concurrencyLimit: number;
}

/** Exponential delays with bounded jitter: attempt n waits initial × 2ⁿ⁻¹ × (1 ± jitter), capped at the maximum. */
const boundedJitter =
  (jitter: number): GeneratorFn<number> =>
  (attempt = 0, options) => {
    const nominal = Math.min(options.maxDelay, options.initialDelay * options.exponent ** attempt);
    return [Math.round(nominal * (1 + jitter * (2 * Math.random() - 1))), attempt + 1];
  };

/**
 * Builds the client. Policies, outermost first:
 * retry (cockatiel decides whether; the backoff sleep is ours, see below) → bulkhead sized to the plan, narrowed
 * on `too_many_concurrent_requests` → shared circuit breaker → per-attempt timeout → `fetch`.
 * The breaker sits inside the bulkhead so that requests queued behind a dead provider fail fast once it opens,
 * and the backoff sleep sits outside the bulkhead so a waiting retry holds no slot.
 */
export function createVoiceClient(options: VoiceClientOptions): VoiceClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? timerSleep;
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? VOICE_TIMEOUT_MS;

  const concurrencyLimit = options.concurrency?.limit ?? VOICE_CONCURRENCY;
  if (!Number.isInteger(concurrencyLimit) || concurrencyLimit < 1) throw new RangeError("concurrency limit must be a positive integer");
  const store = options.store ?? memoryVoiceStore(clock);

  /** The policies, built on the first call: cockatiel may not be evaluated at a Worker's global scope (./cockatiel). */
  function buildPolicies(cockatiel: Cockatiel) {
    const { CircuitState, ConsecutiveBreaker, ExponentialBackoff, TimeoutStrategy, handleWhen, retry, timeout } = cockatiel;
    const schedule = new ExponentialBackoff({
      initialDelay: options.retry?.initialDelayMs ?? VOICE_BACKOFF_INITIAL_MS,
      maxDelay: options.retry?.maxDelayMs ?? VOICE_BACKOFF_MAX_MS,
      exponent: 2,
      generator: boundedJitter(options.retry?.jitter ?? VOICE_BACKOFF_JITTER),
    });
    // cockatiel's retry sleeps on the global setTimeout, which no test can drive; it keeps deciding whether and how
    // often to retry (zero delay of its own) while the scheduled delay runs through the injected sleep
    const retryPolicy = retry(handleWhen(isRetriedFailure), { maxAttempts: options.retry?.maxRetries ?? VOICE_MAX_RETRIES });

    const concurrency = new ProviderConcurrency({
      cockatiel,
      limit: concurrencyLimit,
      queueLimit: options.concurrency?.queueLimit ?? VOICE_QUEUE_LIMIT,
      recoveryMs: options.concurrency?.recoveryMs ?? VOICE_CONCURRENCY_RECOVERY_MS,
      clock,
      isConcurrencyLimitError,
      onChange: (limit) => logger.log("warn", "voice provider concurrency changed", { limit }),
    });

    const consecutive = options.breaker?.consecutiveFailures;
    const windowMs = options.breaker?.windowMs ?? VOICE_BREAKER_WINDOW_MS;
    const createBreaker =
      options.breaker?.create ??
      (consecutive !== undefined
        ? () => new ConsecutiveBreaker(consecutive)
        : () =>
            new FailureRatioBreaker({
              states: CircuitState,
              clock,
              threshold: options.breaker?.failureRatio ?? VOICE_BREAKER_FAILURE_RATIO,
              windowMs,
              minimumCalls: options.breaker?.minimumCalls ?? VOICE_BREAKER_MIN_CALLS,
            }));
    const breaker = new SharedCircuitBreaker({
      cockatiel,
      store,
      key: options.breaker?.key ?? `voice:breaker:v1:${baseUrl}`,
      clock,
      logger,
      createBreaker,
      halfOpenAfterMs: options.breaker?.halfOpenAfterMs ?? VOICE_BREAKER_HALF_OPEN_MS,
      syncIntervalMs: options.breaker?.syncIntervalMs ?? VOICE_BREAKER_SYNC_MS,
      stateTtlMs: options.breaker?.stateTtlMs ?? VOICE_BREAKER_STATE_TTL_MS,
      isFailure: isBreakerFailure,
    });

    // cooperative: the attempt ends when fetch has really stopped, so a freed bulkhead slot means a closed request
    const attemptTimeout = timeout(timeoutMs, TimeoutStrategy.Cooperative);
    return { schedule, retryPolicy, concurrency, breaker, attemptTimeout };
  }
  let policies: ReturnType<typeof buildPolicies> | undefined;
  let building: Promise<ReturnType<typeof buildPolicies>> | undefined;
  // one set for every caller, also for the calls that arrive while cockatiel is loading
  const policiesNow = () => (policies ? Promise.resolve(policies) : (building ??= loadCockatiel().then((c) => (policies = buildPolicies(c)))));

  async function requestAgent(voiceAgentId: string, signal: AbortSignal, callerSignal?: AbortSignal): Promise<VoiceAgentConfig | null> {
    const url = `${baseUrl}/v1/convai/agents/${encodeURIComponent(voiceAgentId)}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, { headers: { "xi-api-key": options.apiKey, accept: "application/json" }, signal });
      body = await response.text();
    } catch (error) {
      if (callerSignal?.aborted) throw new VoiceProviderError("cancelled", "voice provider call was cancelled", undefined, { cause: error });
      if (signal.aborted) throw new VoiceProviderError("timeout", `voice provider gave no answer within ${timeoutMs} ms`, undefined, { cause: error });
      throw new VoiceProviderError("network", `voice provider unreachable: ${String(error)}`, undefined, { cause: error });
    }
    const status = response.status;
    if (status === 404) return null;
    if (status === 429) throw new VoiceProviderError(rateLimitKind(body), "voice provider answered 429", status);
    if (status >= 500) throw new VoiceProviderError("server_error", `voice provider answered ${status}`, status);
    if (!response.ok) throw new VoiceProviderError("client_error", `voice provider answered ${status}`, status);
    let config: VoiceAgentConfig | null;
    try {
      config = toVoiceAgentConfig(JSON.parse(body));
    } catch (error) {
      throw new VoiceProviderError("malformed_response", "voice provider answered malformed JSON", status, { cause: error });
    }
    if (!config) throw new VoiceProviderError("malformed_response", "voice provider answered an unexpected agent shape", status);
    return config;
  }

  return {
    async getAgentConfig(voiceAgentId, { signal, knownFailing = false } = {}) {
      // an id stored before SPEC §11 held them to this shape is never sent: `..` would reach another provider path
      if (!VOICE_AGENT_ID_PATTERN.test(voiceAgentId)) throw new VoiceProviderError("client_error", "not a voice agent id: 1-128 characters of A-Z a-z 0-9 _ -");
      let backoff: IBackoff<unknown> | undefined;
      try {
        const { schedule, retryPolicy, concurrency, breaker, attemptTimeout } = await policiesNow();
        return await retryPolicy.execute(async ({ attempt, signal: callSignal }) => {
          if (attempt > 0) {
            backoff = backoff ? backoff.next(undefined) : schedule.next();
            logger.log("debug", "voice provider retry", { voiceAgentId, attempt, delayMs: backoff.duration });
            await sleep(backoff.duration, callSignal);
          }
          const request = () => attemptTimeout.execute(({ signal: attemptSignal }) => requestAgent(voiceAgentId, attemptSignal, signal));
          // the breaker counts a call once, by its first attempt; retries (and every attempt for an agent known to be
          // failing) pass a closed circuit only and count only if they succeed
          const counted = attempt === 0 && !knownFailing;
          return concurrency.run(() => (counted ? breaker.execute(request, callSignal) : breaker.executeRetry(request, callSignal)), callSignal);
        }, signal);
      } catch (error) {
        throw asVoiceProviderError(error);
      }
    },
    get breakerState() {
      return policies?.breaker.state ?? "closed";
    },
    get concurrencyLimit() {
      return policies?.concurrency.limit ?? concurrencyLimit;
    },
  };
}
