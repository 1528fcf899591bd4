import { createHash } from "node:crypto";

/**
 * Entity tags of the read API (SPEC §11 HTTP caching, RFC 9110 §8.8.3 and §13.1.2). Tags are weak (`W/"…"`): a
 * runtime that compresses the answer (Node's compress middleware, the Workers runtime, Cloudflare's edge) keeps a weak
 * tag as it is, where it would weaken or drop a strong one, so a client sees the same tag whichever encoding it got.
 */

/**
 * The weak tag of a serialized answer: its length and the SHA-1 of its UTF-8 bytes, so two answers of different sizes
 * never share one. `node:crypto` (Node, and workerd under `nodejs_compat`) hashes synchronously in native code: ~70 µs
 * for a 110 KB answer (the variance of 200 agents), where the JavaScript hash it replaced (cyrb53) took ~0.2 ms warm
 * and ~1 ms in a cache miss's profile, and WebCrypto's digest is asynchronous (a hop to Node's thread pool). A
 * validator needs no collision resistance against an adversary: the tag only ever compares two answers to one URL for
 * one key, and both come from this server.
 */
export function weakEtagOf(body: string): string {
  return `W/"${body.length.toString(36)}-${createHash("sha1").update(body).digest("hex")}"`;
}

/** An entity-tag of a list: optionally `W/`, then a quoted opaque-tag (RFC 9110 §8.8.3). */
const ENTITY_TAG = /(?:W\/)?("[^"]*")/g;

/**
 * Whether `If-None-Match` matches the current representation's tag (RFC 9110 §13.1.2): `*` matches any current
 * representation; otherwise a comma-separated list of entity-tags, compared weakly (the opaque-tags are equal,
 * `W/` or not on either side).
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const opaque = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const match of header.matchAll(ENTITY_TAG)) if (match[1] === opaque) return true;
  return false;
}
