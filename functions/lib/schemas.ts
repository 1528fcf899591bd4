import { z } from "@hono/zod-openapi";

/** ISO-8601 instant with an explicit offset that names a real calendar moment (2026-02-30 is rejected). */
export const instant = z
  .string()
  .max(40)
  .refine(isRealInstant, { message: "must be an ISO-8601 instant with offset, e.g. 2026-03-01T09:30:00Z, on a real calendar date from 1970 to 9999 (UTC)" })
  .openapi({ format: "date-time", example: "2026-03-01T09:30:00Z" });

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;

export function isRealInstant(value: string): boolean {
  const m = ISO_INSTANT.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? "0"].map(Number) as number[];
  if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59) return false;
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (day! < 1 || day! > daysInMonth) return false;
  const t = Date.parse(value);
  // bounded in UTC, not as written: 9999-12-31T23:00:00-05:00 is in year 10000, which Postgres reads but JavaScript
  // prints as "+010000-…", and 1970-01-01T00:00:00+05:00 is before the epoch
  return Number.isFinite(t) && year! >= 1970 && t >= 0 && t <= LAST_INSTANT_MS;
}

/** 9999-12-31T23:59:59.999Z: the last instant the API accepts. */
const LAST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A UUID in any case, answered in lower case: Postgres stores one spelling, and cache keys, invalidations and advisory
 * locks built from the parsed value must name the same resource for every spelling a client sends.
 */
export const uuid = z
  .uuid({ message: "must be a UUID" })
  .overwrite((value) => value.toLowerCase())
  .openapi({ format: "uuid" });
export const idParam = z.object({ id: uuid.openapi({ param: { name: "id", in: "path" } }) });

/** E.164: a plus sign and 8 to 15 digits, the first not zero. */
export const e164 = z
  .string()
  .regex(/^\+[1-9]\d{7,14}$/, { message: "must be an E.164 phone number such as +14155550123" })
  .openapi({ example: "+14155550123" });

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$|^UTC$/.test(value);
  } catch {
    return false;
  }
}

export const timeZone = z
  .string()
  .max(64)
  .refine(isTimeZone, { message: "must be an IANA time zone such as America/New_York" })
  .openapi({ example: "America/New_York" });

export const shortText = (max = 200) => z.string().trim().min(1).max(max);
export const countryCode = z.string().regex(/^[A-Z]{2}$/, { message: "must be an ISO 3166-1 alpha-2 code such as US" });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: problemSchema } };

/** The error responses every authenticated route can answer. */
export const errorResponses = {
  400: { description: "Invalid input", content: problemContent },
  401: { description: "Missing or unknown API key", content: problemContent },
  403: { description: "The key's scope does not allow this route", content: problemContent },
  404: { description: "Not found (also for another organization's ids)", content: problemContent },
} as const;

/** 409 of a write that would take what another holds (a voice agent id, SPEC §11). */
export const conflictResponse = {
  409: { description: "The value of a unique field is held by another resource; nothing was changed", content: problemContent },
} as const;

export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const jsonResponse = <T extends z.ZodTypeAny>(description: string, schema: T) => ({
  description,
  content: { "application/json": { schema } },
});

export const bearer = [{ bearerAuth: [] }];

/** `meta` of a response that may come from the cache (SPEC §4): the instant it is exact for, how it was served, its TTL. */
export const cacheMetaSchema = z.object({
  asOf: z.string(),
  cache: z.enum(["hit", "miss", "stale", "bypass"]),
  ttlSec: z.number(),
});
