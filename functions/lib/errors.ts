import type { Context } from "hono";
import type { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

/** One error vocabulary: each code has one HTTP status and one title. */
export const ERROR_CODES = {
  bad_request: { status: 400, title: "Bad request" },
  validation_failed: { status: 400, title: "Validation failed" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  unauthorized: { status: 401, title: "Unauthorized" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal server error" },
  unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type FieldError = { path: string; message: string };

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  constructor(code: ErrorCode, detail: string, options: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.name = "ApiError";
    this.code = code;
    if (options.errors) this.errors = options.errors;
    if (options.headers) this.headers = options.headers;
  }
  get status(): ContentfulStatusCode {
    return ERROR_CODES[this.code].status;
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);

/** Flattens zod issues into `errors[]`: every offending field, with a dotted path ("" for the whole body). */
export function fieldErrors(error: ZodError, prefix = ""): FieldError[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    return { path, message: issue.message };
  });
}

export function validationError(error: ZodError, where: string): ApiError {
  const errors = fieldErrors(error, where === "json" ? "" : where);
  const detail = `${errors.length} invalid field${errors.length === 1 ? "" : "s"}: ${errors.map((e) => `${e.path || "body"}: ${e.message}`).join("; ")}`;
  return new ApiError("validation_failed", detail, { errors });
}

/** RFC 9457 problem document; `requestId` lets an operator find the log line. */
export function problem(c: Context, error: ApiError): Response {
  const { status, title } = ERROR_CODES[error.code];
  const requestId = c.get("requestId") as string | undefined;
  const body = {
    type: `urn:tally:problem:${error.code.replaceAll("_", "-")}`,
    title,
    status,
    detail: error.message,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/problem+json",
      ...(requestId ? { "x-request-id": requestId } : {}),
      ...(error.headers ?? {}),
    },
  });
}

/** Maps Hono's own exceptions (malformed JSON from the validator, body limits) into our vocabulary. */
export function fromHttpException(error: HTTPException): ApiError {
  const message = error.message || "Request rejected";
  switch (error.status) {
    case 400:
      return /json/i.test(message) ? new ApiError("malformed_json", "The request body is not valid JSON") : new ApiError("bad_request", message);
    case 401:
      return new ApiError("unauthorized", message);
    case 403:
      return new ApiError("forbidden", message);
    case 404:
      return new ApiError("not_found", message);
    case 413:
      return new ApiError("payload_too_large", "The request body exceeds 1 MiB");
    case 415:
      return new ApiError("unsupported_media_type", message);
    default:
      return error.status >= 500 ? new ApiError("internal", "Internal server error") : new ApiError("bad_request", message);
  }
}

/**
 * A failed Drizzle query's message (and so its stack) ends with `params: <every bound value>`: API-key hashes, webhook
 * secrets, phone numbers. Logs keep the SQL and drop the values.
 */
export function withoutQueryParams(text: string | undefined): string | undefined {
  return text?.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/, "\nparams: [redacted]");
}

/** Postgres errors that are the client's fault (bad input that slipped past validation) map to 4xx, never 500. */
export function fromDatabaseError(error: unknown): ApiError | undefined {
  const cause = (error as { cause?: { code?: string } })?.cause ?? (error as { code?: string });
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (!code) return undefined;
  if (code === "23505") return new ApiError("conflict", "A resource with these unique fields already exists");
  if (code === "23503") return new ApiError("bad_request", "A referenced resource does not exist");
  if (code === "23514" || code === "22003" || code === "22P02" || code === "22007" || code === "22008" || code === "22001")
    return new ApiError("bad_request", "A value is out of range or malformed");
  // a NUL character in a text value (22021) or a \u0000 escape in a jsonb one (22P05): Postgres stores neither
  if (code === "22021" || code === "22P05") return new ApiError("bad_request", "A text value contains a NUL character (\\u0000), which cannot be stored");
  if (code === "57014") return new ApiError("unavailable", "The query timed out; try again", { headers: { "retry-after": "5" } });
  return undefined;
}
