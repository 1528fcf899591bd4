import { createHash } from "node:crypto";
import type { ApiKeyScope } from "../../drizzle/schema/enums";

const KEY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new API key: `tly_<scope letter>_<32 base62 chars>` (~190 bits). Shown once; only its hash is stored. */
export function generateApiKey(scope: ApiKeyScope): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let body = "";
  for (const b of bytes) body += KEY_ALPHABET[b % 62];
  return `tly_${scope[0]}_${body}`;
}

/**
 * Hex SHA-256 of a key or secret. node:crypto (Node, and workerd under nodejs_compat) hashes synchronously; Node's
 * crypto.subtle.digest queues a job per call and cost ~6 % of a cached request's CPU under load.
 */
export async function sha256Hex(input: string): Promise<string> {
  return sha256HexNow(input);
}

/** `sha256Hex` for a caller that must not yield (the cached-read lane's answer with no round trip). */
export function sha256HexNow(input: string): string {
  return createHash("sha256").update(input, "utf8").digest("hex");
}

/** Constant-time comparison of two strings of hex or ASCII. */
export function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  const n = Math.max(ea.length, eb.length);
  for (let i = 0; i < n; i++) diff |= (ea[i % (ea.length || 1)] ?? 0) ^ (eb[i % (eb.length || 1)] ?? 0);
  return diff === 0;
}

export const keyPrefix = (key: string) => key.slice(0, 10);
