import type { z } from "@hono/zod-openapi";

export type Meta = Record<string, unknown>;

/** The meta every aggregate carries (SPEC §4): the instant the numbers are exact for and how they were served. */
export function aggregateMeta<S extends string, E extends Meta = Meta>(
  result: { asOf: Date; status: S; ttlSec: number },
  extra?: E,
): { asOf: string; cache: S; ttlSec: number } & E {
  return { asOf: result.asOf.toISOString(), cache: result.status, ttlSec: result.ttlSec, ...(extra as E) };
}

export const iso = (d: Date | string | null | undefined): string | null => (d === null || d === undefined ? null : new Date(d).toISOString());

/**
 * A read route's answer, checked against its response schema where the check catches bugs: with `validate` (the test
 * apps set `deps.validateResponses`) the schema parses it, and an answer the parse would change (a field the schema
 * drops, a value it rejects) fails the request. In production the answer goes out as built: the parse of a cached
 * overview cost more CPU than the rest of its hit (BENCHMARKS.md, issue #15).
 */
export function checkedAnswer<S extends z.ZodType>(validate: boolean | undefined, schema: S, answer: z.input<S>): z.output<S> {
  if (!validate) return answer as z.output<S>;
  const parsed = schema.parse(answer);
  if (canonicalJson(parsed) !== canonicalJson(answer)) throw new Error("the answer holds fields or values its response schema does not describe");
  return parsed;
}

/** JSON text with every object's keys sorted: two values are the same JSON data when their texts are equal. */
const canonicalJson = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
