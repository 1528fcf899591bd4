import type { Context } from "hono";

export type Meta = Record<string, unknown>;

/**
 * `{ data, meta }` with the status given (200 unless said). Answers an untyped Response: the route's zod schema
 * documents the shape, and resources are built by explicit `to…Resource` mappers so no column leaks.
 */
export function ok<T>(c: Context, data: T, meta?: Meta, status: 200 | 201 = 200): Response {
  return c.json(meta ? { data, meta } : { data }, status);
}

/** The meta every aggregate carries (SPEC §4): the instant the numbers are exact for and how they were served. */
export function aggregateMeta(result: { asOf: Date; status: string; ttlSec: number }, extra: Meta = {}): Meta {
  return { asOf: result.asOf.toISOString(), cache: result.status, ttlSec: result.ttlSec, ...extra };
}

export const iso = (d: Date | string | null | undefined): string | null =>
  d === null || d === undefined ? null : new Date(d).toISOString();
