import { isJsonData, jsonTextKeepingParts } from "../lib/json-text";

/** What the tiered cache stores under an entry key: the value with the instants that govern how it is served. */
export type Envelope = {
  /** the value, as JSON data */
  v: unknown;
  /** asOf, epoch ms */
  a: number;
  /** served as fresh until (epoch ms) */
  f: number;
  /** served as stale, with a background refresh, until */
  s: number;
  /** kept as a fallback for a failing loader until (≥ s) */
  e: number;
  /** the fresh TTL in seconds, surfaced as `ttlSec` */
  t: number;
  /** how long the load took (ms): XFetch refreshes slow-to-compute values earlier */
  d: number;
};

export type EnvelopeTimes = { asOf: number; loadedAt: number; loadMs: number; freshSec: number; staleSec: number; staleIfErrorSec: number };

/**
 * Serializes a loaded value; answers null when it cannot be serialized (the value is then served but not cached).
 * The envelope's `v` is the value's JSON round trip, as a hit decodes it: the value itself when it already is JSON
 * data (`isJsonData`: the round trip would be the same data), its text then kept by part for the answer built from it
 * (`jsonTextKeepingParts`); else the text parsed back.
 */
export function encodeEnvelope(value: unknown, times: EnvelopeTimes): { raw: string; env: Envelope } | null {
  const asData = isJsonData(value);
  let json: string | undefined;
  try {
    json = asData ? jsonTextKeepingParts(value) : JSON.stringify(value);
  } catch {
    return null;
  }
  const f = times.loadedAt + times.freshSec * 1000;
  const s = f + times.staleSec * 1000;
  const e = Math.max(s, f + times.staleIfErrorSec * 1000);
  const head = { a: times.asOf, f, s, e, t: times.freshSec, d: Math.max(0, times.loadMs) };
  const raw = `${JSON.stringify(head).slice(0, -1)},"v":${json ?? "null"}}`;
  return { raw, env: asData ? { ...head, v: value } : (JSON.parse(raw) as Envelope) };
}

/** Reads an entry back; answers null for anything that is not one of ours (a corrupt entry is a miss). */
export function decodeEnvelope(raw: string | null): Envelope | null {
  if (raw === null) return null;
  try {
    const env = JSON.parse(raw) as Partial<Envelope> | null;
    if (!env || typeof env !== "object" || !("v" in env)) return null;
    for (const field of ["a", "f", "s", "e", "t", "d"] as const) if (typeof env[field] !== "number") return null;
    return env as Envelope;
  } catch {
    return null;
  }
}

/**
 * XFetch (Vattani et al., "Optimal probabilistic cache stampede prevention"): refresh a fresh value early with a
 * probability that grows as its expiry nears and with how long it takes to compute, so the callers of a hot key do not
 * all find it expired at the same instant. `random` answers in (0, 1]; `beta` > 1 favours earlier refreshes.
 */
export function shouldRefreshEarly(env: Envelope, now: number, beta: number, random: () => number): boolean {
  if (env.d <= 0 || beta <= 0) return false;
  const r = Math.min(1, Math.max(random(), Number.MIN_VALUE));
  return now - env.d * beta * Math.log(r) >= env.f;
}
