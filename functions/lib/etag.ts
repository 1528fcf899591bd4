/**
 * Entity tags of the read API (SPEC §11 HTTP caching, RFC 9110 §8.8.3 and §13.1.2). Tags are weak (`W/"…"`): a
 * runtime that compresses the answer (Node's compress middleware, the Workers runtime, Cloudflare's edge) keeps a weak
 * tag as it is, where it would weaken or drop a strong one, so a client sees the same tag whichever encoding it got.
 */

/**
 * cyrb53: a 53-bit non-cryptographic hash of a string's UTF-16 code units, about 2 µs for a 1 KiB JSON answer where
 * WebCrypto's SHA-1 costs about 0.25 ms in Node (measured; the difference is the async hop to its thread pool). A
 * validator needs no collision resistance against an adversary: the tag only ever compares two answers to one URL
 * for one key, and both come from this server.
 */
function cyrb53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The weak tag of a serialized answer: its length and hash, so two answers of different sizes never share one. */
export function weakEtagOf(body: string): string {
  return `W/"${body.length.toString(36)}-${cyrb53(body).toString(36)}"`;
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
