import type { ApiKeyScope } from "../../drizzle/schema/enums";

const KEY_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A new API key: `tly_<scope letter>_<32 base62 chars>` (~190 bits). Shown once; only its hash is stored. */
export function generateApiKey(scope: ApiKeyScope): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let body = "";
  for (const b of bytes) body += KEY_ALPHABET[b % 62];
  return `tly_${scope[0]}_${body}`;
}

export async function sha256Hex(input: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
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
