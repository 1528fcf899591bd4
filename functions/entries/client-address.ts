import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";

/**
 * The Node entry's client address: the peer of the request's socket. A proxy in front (HOST=0.0.0.0 in a container)
 * is the peer then; Tally does not trust `X-Forwarded-For`, which any client can send.
 */
export function nodeClientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not served by @hono/node-server (app.request in a script): no address
  }
}
