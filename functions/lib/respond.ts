import { deflateSync, gzipSync } from "node:zlib";
import type { z } from "@hono/zod-openapi";
import { parseAccept } from "hono/utils/accept";
import { weakEtagOf } from "./etag";
import { jsonTextReusingParts } from "./json-text";

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

/** A cached read's answer as it was last built for one cached value, and its JSON text once serialized. */
type BuiltAnswer = { status: string; asOf: number; ttlSec: number; answer: object };
const builtAnswers = new WeakMap<object, BuiltAnswer>();
/** The answers `cachedAnswer` built (never changed afterwards), and the JSON text of those serialized so far. */
const keptAnswers = new WeakSet<object>();
const answerTexts = new WeakMap<object, { text: string; etag: string }>();

/**
 * The answer of a cached read, built once per cached value: the hits of one cache entry (the very same value object
 * from the in-process tier) with the same status, asOf and ttlSec answer the very same object, whose JSON text and
 * ETag `jsonTextOf` keeps. A cached overview was serialized and hashed again on every hit (issue #15). The answer
 * must be a function of the value and those three (it is: `{ data, meta }` read from them) and is never changed.
 */
export function cachedAnswer<A extends object>(result: { value: object; status: string; asOf: Date; ttlSec: number }, build: () => A): A {
  const asOf = result.asOf.getTime();
  const built = builtAnswers.get(result.value);
  if (built && built.status === result.status && built.asOf === asOf && built.ttlSec === result.ttlSec) return built.answer as A;
  const answer = build();
  builtAnswers.set(result.value, { status: result.status, asOf, ttlSec: result.ttlSec, answer });
  keptAnswers.add(answer);
  return answer;
}

/** The JSON text of an answer and its weak ETag: computed once for an answer `cachedAnswer` built, every time otherwise. */
export function jsonTextOf(answer: unknown): { text: string; etag: string } {
  const kept = typeof answer === "object" && answer !== null && keptAnswers.has(answer) ? answer : undefined;
  const known = kept && answerTexts.get(kept);
  if (known) return known;
  // the parts a cache miss serialized for the store are not serialized again (`lib/json-text.ts`)
  const text = jsonTextReusingParts(answer);
  const serialized = { text, etag: weakEtagOf(text) };
  if (kept) answerTexts.set(kept, serialized);
  return serialized;
}

/** The encoding `hono/compress` (the chain's) picks for an `Accept-Encoding`: gzip or deflate by weight, gzip first. */
export function chosenEncoding(acceptEncoding: string | undefined): "gzip" | "deflate" | undefined {
  if (acceptEncoding === undefined) return undefined;
  const accepts = parseAccept(acceptEncoding);
  const wildcard = accepts.find((a) => a.type === "*")?.q;
  let best: { encoding: "gzip" | "deflate"; q: number } | undefined;
  for (const encoding of ["gzip", "deflate"] as const) {
    const q = accepts.find((a) => a.type.toLowerCase() === encoding)?.q ?? wildcard ?? 0;
    if (q === 1) return encoding;
    if (q > 0 && (!best || q > best.q)) best = { encoding, q };
  }
  return best?.encoding;
}

const compressed = new WeakMap<object, Partial<Record<"gzip" | "deflate", Uint8Array<ArrayBuffer>>>>();

/** The bytes `compressedTextOf` made for a serialized answer, once made, else undefined (nothing is started). */
export function compressedTextIfMade(serialized: { text: string }, encoding: "gzip" | "deflate"): Uint8Array<ArrayBuffer> | undefined {
  return compressed.get(serialized)?.[encoding];
}

/**
 * The JSON text of `jsonTextOf` compressed, in the bytes `hono/compress` would send (gzip, or deflate in its zlib
 * wrapper, at zlib's default level), made once per serialized answer and encoding: the hits of one cached answer
 * share the bytes, and a miss's answer is compressed once. In one synchronous call (`node:zlib`, in Node and in
 * workerd under `nodejs_compat`): a 90 KB answer piped through `CompressionStream` took ~2.7 ms where the one call
 * takes ~1.5 ms, and the web-stream pipeline cost the process more CPU than the compression (BENCHMARKS.md).
 */
export function compressedTextOf(serialized: { text: string }, encoding: "gzip" | "deflate"): Uint8Array<ArrayBuffer> {
  const known = compressed.get(serialized)?.[encoding];
  if (known) return known;
  const made = encoding === "gzip" ? gzipSync(serialized.text) : deflateSync(serialized.text);
  const bytes = new Uint8Array(made.buffer, made.byteOffset, made.byteLength) as Uint8Array<ArrayBuffer>;
  let byEncoding = compressed.get(serialized);
  if (!byEncoding) compressed.set(serialized, (byEncoding = {}));
  byEncoding[encoding] = bytes;
  return bytes;
}
