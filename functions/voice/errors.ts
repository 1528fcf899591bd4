import { loadedCockatiel } from "./cockatiel";

/**
 * Why a call to the voice provider gave no config. A 404 is not among them: an unknown agent is an answer.
 *
 * - `server_error`: 5xx. Retried; a breaker failure.
 * - `system_busy`: 429 whose body says the provider is overloaded. Retried on the backoff schedule (1/2/4 s), which
 *   puts every retry past the agents list's budget, in the background; not a breaker failure: the provider answered,
 *   and asked for time, which the backoff gives it (counting it let a few busy agents open the circuit for all).
 * - `too_many_concurrent_requests`: 429 for exceeding the plan's concurrency. Narrows the bulkhead, then retried on
 *   the same schedule through the narrower bulkhead; not a breaker failure (the provider is healthy).
 * - `rate_limited`: any other 429. Retried; not a breaker failure.
 * - `client_error`: other 4xx (a wrong key, a malformed id). Not retried; not a breaker failure: the provider is
 *   healthy, and the breaker is shared by every account (key) calling it.
 * - `malformed_response`: a 2xx whose body is not the agent JSON. Retried; a breaker failure.
 * - `timeout`, `network`: the attempt got no answer. Retried; breaker failures.
 * - `circuit_open`, `queue_full`, `cancelled`: refused or abandoned on our side; no request was (re)sent.
 */
export type VoiceFailureKind =
  | "server_error"
  | "system_busy"
  | "too_many_concurrent_requests"
  | "rate_limited"
  | "client_error"
  | "malformed_response"
  | "timeout"
  | "network"
  | "circuit_open"
  | "queue_full"
  | "cancelled";

export class VoiceProviderError extends Error {
  override readonly name = "VoiceProviderError";
  constructor(
    readonly kind: VoiceFailureKind,
    message: string,
    /** the provider's HTTP status, when it answered */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const RETRIED: ReadonlySet<VoiceFailureKind> = new Set([
  "server_error",
  "system_busy",
  "too_many_concurrent_requests",
  "rate_limited",
  "malformed_response",
  "timeout",
  "network",
]);

const BREAKER_FAILURES: ReadonlySet<VoiceFailureKind> = new Set(["server_error", "malformed_response", "timeout", "network"]);

const kindOf = (error: unknown): VoiceFailureKind | null => (error instanceof VoiceProviderError ? error.kind : null);

export const isRetriedFailure = (error: unknown): boolean => RETRIED.has(kindOf(error) as VoiceFailureKind);
export const isBreakerFailure = (error: unknown): boolean => BREAKER_FAILURES.has(kindOf(error) as VoiceFailureKind);
/**
 * A failure that says something about this one voice agent, so the config service remembers the agent as failing
 * and gives it its own backoff. Refusals on our side (`circuit_open`, `queue_full`, `cancelled`) say nothing about it.
 */
export const isAgentFailure = (error: unknown): boolean => {
  const kind = kindOf(error);
  return kind !== null && kind !== "circuit_open" && kind !== "queue_full" && kind !== "cancelled";
};
export const isConcurrencyLimitError = (error: unknown): boolean => kindOf(error) === "too_many_concurrent_requests";

/** Reads the kind of a 429 from its body (`{"detail":{"status":"system_busy",…}}` on ElevenLabs). */
export function rateLimitKind(body: string): VoiceFailureKind {
  let status: unknown;
  try {
    const parsed = JSON.parse(body) as { detail?: { status?: unknown } | string; status?: unknown };
    status = typeof parsed.detail === "object" && parsed.detail !== null ? parsed.detail.status : parsed.status;
  } catch {
    // not JSON: fall back to the text itself
  }
  const text = typeof status === "string" ? status : body;
  if (text.includes("too_many_concurrent_requests")) return "too_many_concurrent_requests";
  if (text.includes("system_busy")) return "system_busy";
  return "rate_limited";
}

/** Gives every failure leaving the client one type, whichever layer (ours or cockatiel's) raised it. */
export function asVoiceProviderError(error: unknown): VoiceProviderError {
  if (error instanceof VoiceProviderError) return error;
  const cockatiel = loadedCockatiel();
  if (!cockatiel) return new VoiceProviderError("network", error instanceof Error ? error.message : String(error), undefined, { cause: error });
  const { BrokenCircuitError, BulkheadRejectedError, IsolatedCircuitError, TaskCancelledError } = cockatiel;
  // instanceof, not cockatiel's `is…Error` guards: in 3.2.1 `isIsolatedCircuitError` and `isTaskCancelledError`
  // test for the bulkhead's marker and so misname a full queue
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
    return new VoiceProviderError("circuit_open", "voice provider circuit is open", undefined, { cause: error });
  }
  if (error instanceof BulkheadRejectedError) {
    return new VoiceProviderError("queue_full", "voice provider queue is full", undefined, { cause: error });
  }
  if (error instanceof TaskCancelledError) {
    return new VoiceProviderError("cancelled", "voice provider call was cancelled", undefined, { cause: error });
  }
  return new VoiceProviderError("network", error instanceof Error ? error.message : String(error), undefined, { cause: error });
}
