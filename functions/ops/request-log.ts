import type { AppDeps } from "../deps";
import type { LogFields } from "../lib/logger";

/** Requests slower than this are logged as slow, with their statements and cache outcome. */
const DEFAULT_SLOW_REQUEST_MS = 500;

/**
 * The one line every request logs when it is answered (`request`, or `slow request` as a warning past
 * `deps.slowRequestMs`): its id, method, route pattern, path, status, duration, statements and cache outcome.
 */
export function logRequest(deps: Pick<AppDeps, "logger" | "slowRequestMs">, fields: LogFields & { durationMs: number }): void {
  const slow = fields.durationMs >= (deps.slowRequestMs ?? DEFAULT_SLOW_REQUEST_MS);
  deps.logger.log(slow ? "warn" : "info", slow ? "slow request" : "request", fields);
}
