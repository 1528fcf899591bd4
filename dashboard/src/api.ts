/** How long the server took (`Server-Timing`, its `total` and any other metrics) and how long the round trip took. */
export type Timing = { serverMs: number | null; metrics: Record<string, number>; roundTripMs: number };

/**
 * A response of the read API with the time it took. `notModified`: the server answered 304 to the page's
 * `If-None-Match` (SPEC §11), and `body` is the one this page already had for the same URL and key.
 */
export type ApiAnswer<T> = { ok: true; body: T; timing: Timing; notModified: boolean };

/**
 * Why a request gave no data, sorted by what the person in front of the page can do about it:
 * `key` (enter another key), `rate-limited` (wait), `unreachable` (start the server), `missing` (this server has no
 * such route yet), `failed` (the server answered an error).
 */
export type ApiFailure =
  | { ok: false; kind: "key"; status: number; detail: string }
  | { ok: false; kind: "rate-limited"; retryAfterSec: number | null; detail: string }
  | { ok: false; kind: "unreachable"; detail: string }
  | { ok: false; kind: "missing"; path: string }
  | { ok: false; kind: "failed"; status: number; detail: string; requestId: string | null }
  | { ok: false; kind: "aborted" };

export type ApiResult<T> = ApiAnswer<T> | ApiFailure;

/** `total;dur=12.3, db;dur=4` → `{ total: 12.3, db: 4 }` (metrics without a duration are left out). */
export function parseServerTiming(header: string | null): Record<string, number> {
  const metrics: Record<string, number> = {};
  if (!header) return metrics;
  for (const entry of header.split(",")) {
    const [name, ...params] = entry.trim().split(";");
    if (!name) continue;
    for (const param of params) {
      const [k, v] = param.trim().split("=");
      if (k === "dur" && v !== undefined && Number.isFinite(Number(v))) metrics[name.trim()] = Number(v);
    }
  }
  return metrics;
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : null;
}

async function problemDetail(res: Response): Promise<{ detail: string; requestId: string | null }> {
  const text = await res.text().catch(() => "");
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown; requestId?: unknown };
    const detail = typeof problem.detail === "string" ? problem.detail : typeof problem.title === "string" ? problem.title : "";
    return { detail, requestId: typeof problem.requestId === "string" ? problem.requestId : res.headers.get("x-request-id") };
  } catch {
    return { detail: text.slice(0, 200), requestId: res.headers.get("x-request-id") };
  }
}

/**
 * The last answer of each URL with its ETag, for the key it was read with: the next GET of that URL sends
 * `If-None-Match`, and a 304 answers the kept body. (The page keeps these itself: its fetches bypass the browser's
 * HTTP cache, `cache: "no-store"`, so a 304 reaches the page rather than being turned into a cached 200.)
 */
const validated = new Map<string, { key: string; etag: string; body: unknown }>();

/** GETs `path` of this server with the key, revalidating an answer it already has; never throws. */
export async function getJson<T>(path: string, key: string, signal?: AbortSignal): Promise<ApiResult<T>> {
  const started = performance.now();
  const kept = validated.get(path);
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: "application/json" };
  if (kept && kept.key === key) headers["if-none-match"] = kept.etag;
  let res: Response;
  try {
    res = await fetch(path, { headers, signal: signal ?? null, cache: "no-store" });
  } catch (error) {
    if (signal?.aborted) return { ok: false, kind: "aborted" };
    return { ok: false, kind: "unreachable", detail: error instanceof Error ? error.message : String(error) };
  }
  if (res.status === 401 || res.status === 403) return { ok: false, kind: "key", status: res.status, ...(await problemDetail(res)) };
  if (res.status === 429) {
    const retryAfterSec = parseRetryAfter(res.headers.get("retry-after"));
    return { ok: false, kind: "rate-limited", retryAfterSec, detail: (await problemDetail(res)).detail };
  }
  if (res.status === 404) return { ok: false, kind: "missing", path: path.split("?")[0] ?? path };
  if (res.status === 304 && kept && kept.key === key) {
    const metrics = parseServerTiming(res.headers.get("server-timing"));
    return {
      ok: true,
      body: kept.body as T,
      notModified: true,
      timing: { serverMs: metrics.total ?? null, metrics, roundTripMs: performance.now() - started },
    };
  }
  if (!res.ok) return { ok: false, kind: "failed", status: res.status, ...(await problemDetail(res)) };
  let body: T;
  try {
    body = (await res.json()) as T;
  } catch {
    if (signal?.aborted) return { ok: false, kind: "aborted" };
    return { ok: false, kind: "failed", status: res.status, detail: "the answer was not JSON", requestId: res.headers.get("x-request-id") };
  }
  const etag = res.headers.get("etag");
  if (etag) validated.set(path, { key, etag, body });
  else validated.delete(path);
  const metrics = parseServerTiming(res.headers.get("server-timing"));
  return { ok: true, body, notModified: false, timing: { serverMs: metrics.total ?? null, metrics, roundTripMs: performance.now() - started } };
}

/** A sentence a person understands for each failure (the page shows it in the panel, and key/server ones on top). */
export function failureMessage(failure: Exclude<ApiFailure, { kind: "aborted" }>): string {
  switch (failure.kind) {
    case "key":
      return `This API key was not accepted (HTTP ${failure.status}${failure.detail ? `: ${failure.detail}` : ""}). Enter a key of your organization with read scope.`;
    case "rate-limited":
      return `Too many requests: the server asked to slow down (HTTP 429)${
        failure.retryAfterSec === null ? "" : `; it can answer again in ${failure.retryAfterSec} s`
      }. The page retries by itself.`;
    case "unreachable":
      return `Cannot reach the Tally server at ${location.origin}. Is it running? Start it with "npm start", then press Refresh.`;
    case "missing":
      return `Not available: this server does not offer GET ${failure.path} yet (HTTP 404).`;
    case "failed":
      return `The server could not answer (HTTP ${failure.status})${failure.detail ? `: ${failure.detail}` : ""}.${
        failure.requestId ? ` Request id ${failure.requestId}.` : ""
      }`;
  }
}

/** The filename of a `Content-Disposition: attachment; filename="…"` header, or `fallback`. */
export function attachmentName(header: string | null, fallback: string): string {
  return /filename="([^"]+)"/.exec(header ?? "")?.[1] ?? fallback;
}

/**
 * Downloads `path` (an attachment such as the CSV export) with the key in the Authorization header, as a Blob saved
 * through a temporary link: a plain link could not send the header, and the key never goes into a URL (where it would
 * land in logs and the browser's history). Answers the file's name, or a failure.
 */
export async function download(path: string, key: string): Promise<{ ok: true; filename: string; bytes: number } | Exclude<ApiFailure, { kind: "aborted" }>> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${key}` }, cache: "no-store" });
  } catch (error) {
    return { ok: false, kind: "unreachable", detail: error instanceof Error ? error.message : String(error) };
  }
  if (res.status === 401 || res.status === 403) return { ok: false, kind: "key", status: res.status, ...(await problemDetail(res)) };
  if (res.status === 429)
    return { ok: false, kind: "rate-limited", retryAfterSec: parseRetryAfter(res.headers.get("retry-after")), detail: (await problemDetail(res)).detail };
  if (res.status === 404) return { ok: false, kind: "missing", path: path.split("?")[0] ?? path };
  if (!res.ok) return { ok: false, kind: "failed", status: res.status, ...(await problemDetail(res)) };
  const blob = await res.blob();
  const filename = attachmentName(res.headers.get("content-disposition"), "export.csv");
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // the click has handed the Blob to the download; the URL is no longer needed
  setTimeout(() => URL.revokeObjectURL(url), 0);
  return { ok: true, filename, bytes: blob.size };
}
