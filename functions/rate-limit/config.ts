import type { Clock } from "../lib/clock";
import type { RateLimitStore } from "./stores";

/** SPEC-less default: generous enough for a dashboard polling every widget, small enough to stop a runaway client. */
export const DEFAULT_RATE_LIMIT_REQUESTS = 600;
export const DEFAULT_RATE_LIMIT_WINDOW_SEC = 60;
/** SPEC §11: `TALLY_WRITE_RATE_LIMIT`, per write (and admin) key. */
export const DEFAULT_WRITE_RATE_LIMIT_REQUESTS = 6000;
/** SPEC §11: `TALLY_ANON_RATE_LIMIT`, failed authentications per client address. */
export const DEFAULT_ANON_RATE_LIMIT_REQUESTS = 60;
/** Bound on the keys one instance remembers as valid (they pass the anonymous limit unasked): a few per active key. */
export const KNOWN_KEYS_MAX = 10_000;
/** A limiter that cannot answer within this is skipped (fail open): a request never waits long on the limiter. */
export const RATE_LIMIT_TIMEOUT_MS = 250;
/** After a store failure, requests are let through without asking the store for this long (one log line an outage). */
export const RATE_LIMIT_RETRY_MS = 1_000;

export type RateLimitConfig = {
  /** requests a key may make per window (default 600) */
  requests?: number;
  /** the window, in seconds (default 60) */
  windowSec?: number;
  /** shared store (Redis, Upstash); default: this instance's memory */
  store?: RateLimitStore;
  /** defaults to the app's clock */
  clock?: Clock;
  /** bound on one store call before the limiter fails open */
  timeoutMs?: number;
};
