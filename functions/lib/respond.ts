export type Meta = Record<string, unknown>;

/** The meta every aggregate carries (SPEC §4): the instant the numbers are exact for and how they were served. */
export function aggregateMeta(result: { asOf: Date; status: string; ttlSec: number }, extra: Meta = {}): Meta {
  return { asOf: result.asOf.toISOString(), cache: result.status, ttlSec: result.ttlSec, ...extra };
}

export const iso = (d: Date | string | null | undefined): string | null => (d === null || d === undefined ? null : new Date(d).toISOString());
