import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../hono/env";
import { ifNoneMatchMatches } from "../lib/etag";
import { chosenEncoding, compressedTextOf, jsonTextOf } from "../lib/respond";

/** SPEC §11: a client may keep a JSON answer, but must revalidate it (with its ETag) before every use. */
export const API_CACHE_CONTROL = "private, no-cache";

/** Headers of a 200 that describe its body: a 304 has none (RFC 9110 §15.4.5), the rest (ETag, Vary, RateLimit-*, …) stay. */
const BODY_HEADERS = ["content-type", "content-length", "content-encoding"];

/**
 * ETag and 304 for every `GET /api/*` JSON answer (SPEC §11). The tag is computed from the JSON text as the handler
 * serializes it (`c.json` is wrapped for the request), so the answer is stringified once and never read back from the
 * Response: hashing the text costs ~70 µs for a 110 KB answer (lib/etag.ts), where Hono's `etag` middleware clones and re-reads
 * the body stream and hashes it with WebCrypto (about 0.6 ms for a 1 KiB answer in Node, measured).
 * A cached read's answer (`cachedAnswer`) is serialized and tagged once, not on every hit (`jsonTextOf`).
 * Mounted after the rate limiter: a 304 counts for the limits like any other answer. Answers that are not JSON (the
 * CSV export, a stream) are left alone.
 */
export const httpCaching = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "GET") return next();
  let etag: string | undefined;
  const serialize = c.json;
  c.json = ((object: unknown, ...rest: unknown[]) => {
    const serialized = jsonTextOf(object);
    etag = serialized.etag;
    c.header("content-type", "application/json");
    const send = c.body as (data: string | Uint8Array<ArrayBuffer>, ...args: unknown[]) => Response;
    // compressed here, in one call, when the client takes it (`compress` then leaves the answer alone); not for a 304
    const encoding = ifNoneMatchMatches(c.req.header("if-none-match"), etag) ? undefined : chosenEncoding(c.req.header("accept-encoding"));
    if (!encoding) return send(serialized.text, ...rest);
    c.header("content-encoding", encoding);
    return send(compressedTextOf(serialized, encoding), ...rest);
  }) as typeof serialize;
  await next();
  c.json = serialize;
  if (etag === undefined || c.res.status !== 200 || !c.res.headers.get("content-type")?.startsWith("application/json")) return;
  c.res.headers.set("etag", etag);
  c.res.headers.set("cache-control", API_CACHE_CONTROL);
  if (!ifNoneMatchMatches(c.req.header("if-none-match"), etag)) return;
  const headers = new Headers(c.res.headers);
  for (const name of BODY_HEADERS) headers.delete(name);
  await c.res.body?.cancel();
  // unset first: Hono's setter would otherwise copy the 200's headers (its content-type) onto the 304
  c.res = undefined;
  c.res = new Response(null, { status: 304, headers });
});
