import { eq } from "drizzle-orm";
import { organizations } from "../../drizzle/schema";
import type { Db } from "../db/database";
import { timingSafeEqual } from "../lib/api-keys";

/**
 * SPEC §6: a delivery signed this far from now or further (either way) is refused; "5 minutes or more" is refused, so
 * exactly 300 s is. Inside the window a replay is recognised by the delivery ledger (`cache/delivery-ledger.ts`).
 */
export const SIGNATURE_TOLERANCE_SEC = 5 * 60;
export const SIGNATURE_HEADER = "Tally-Signature";
/** Bound on the header we parse; a real one is about 80 characters (more with several v1 signatures). */
const MAX_HEADER_LENGTH = 1024;

/** `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`: several v1 entries let a sender sign with an old and a new secret. */
export type SignatureHeader = { timestamp: number; signatures: string[] };

/** Parses a `Tally-Signature` header; answers null when it is missing or malformed. Unknown schemes are ignored. */
export function parseSignatureHeader(header: string | undefined | null): SignatureHeader | null {
  if (!header || header.length > MAX_HEADER_LENGTH) return null;
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return null;
      timestamp = Number(value);
    } else if (key === "v1") {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return null;
      signatures.push(value.toLowerCase());
    }
  }
  return timestamp === undefined || signatures.length === 0 ? null : { timestamp, signatures };
}

/** Lowercase hex HMAC-SHA256 of `message` keyed by the UTF-8 bytes of `secret` (WebCrypto: Workers and Node alike). */
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(message));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The organization's webhook secret, or null when it has none or does not exist (callers must not tell which). */
export async function findWebhookSecret(db: Db, orgId: string): Promise<string | null> {
  const [row] = await db.select({ secret: organizations.webhookSecret }).from(organizations).where(eq(organizations.id, orgId)).limit(1);
  return row?.secret ?? null;
}

export type SignatureVerdict =
  | { ok: true; delivery: { timestamp: number; signature: string } }
  | { ok: false; reason: "missing_or_malformed" | "outside_tolerance" | "no_secret" | "mismatch" };

/**
 * Checks a delivery's signature against the organization's secret. The reason is for the log only: the caller answers
 * every failure alike. A missing secret still costs one HMAC, so timing does not tell unknown organizations apart.
 */
export async function verifyVoiceSignature(input: {
  header: string | undefined | null;
  rawBody: string;
  now: Date;
  secretOf: () => Promise<string | null>;
}): Promise<SignatureVerdict> {
  const parsed = parseSignatureHeader(input.header);
  if (!parsed) return { ok: false, reason: "missing_or_malformed" };
  if (Math.abs(input.now.getTime() / 1000 - parsed.timestamp) >= SIGNATURE_TOLERANCE_SEC) return { ok: false, reason: "outside_tolerance" };
  const secret = await input.secretOf();
  const expected = await hmacSha256Hex(secret ?? "no secret: compare against a value no sender can produce", `${parsed.timestamp}.${input.rawBody}`);
  if (secret === null) return { ok: false, reason: "no_secret" };
  let match: string | null = null;
  for (const signature of parsed.signatures) if (timingSafeEqual(signature, expected)) match = signature;
  return match ? { ok: true, delivery: { timestamp: parsed.timestamp, signature: match } } : { ok: false, reason: "mismatch" };
}

/** How long a delivery signed at `timestamp` (unix seconds) stays inside the tolerance window after `now`, in ms. */
export const toleranceLeftMs = (timestamp: number, now: Date) => (timestamp + SIGNATURE_TOLERANCE_SEC) * 1000 - now.getTime();
