import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { CacheStats } from "../cache/cache";
import type { AppDeps } from "../deps";
import type { BreakerState } from "../voice/shared-breaker";
import type { JobRunStatus } from "./job-runs";
import type { AppEnv } from "../hono/env";

/**
 * Request-duration histogram bounds in seconds: 5 ms (a cache hit) to 10 s (the statement timeout), dense around the
 * 50–500 ms where a dashboard's latency budget is decided.
 */
export const REQUEST_DURATION_BUCKETS_SEC = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** The route label of a request no route answered: raw paths never become labels (their cardinality is unbounded). */
export const UNMATCHED_ROUTE = "unmatched";

const BREAKER_STATES: readonly BreakerState[] = ["closed", "open", "half_open", "isolated"];

type RequestLabels = { method: string; route: string; status: string };
type HistogramSeries = { labels: RequestLabels; buckets: number[]; sum: number; count: number };

/** Per-route request durations of one app instance (a Node process, a Workers isolate), as Prometheus histograms. */
export class RequestMetrics {
  readonly #series = new Map<string, HistogramSeries>();

  observe(labels: RequestLabels, seconds: number): void {
    const key = `${labels.method} ${labels.route} ${labels.status}`;
    let series = this.#series.get(key);
    if (!series) {
      series = { labels, buckets: REQUEST_DURATION_BUCKETS_SEC.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    REQUEST_DURATION_BUCKETS_SEC.forEach((bound, i) => {
      if (seconds <= bound) series.buckets[i]! += 1;
    });
    series.sum += seconds;
    series.count += 1;
  }

  /** The series observed so far, ordered by route, method and status. */
  series(): readonly HistogramSeries[] {
    return [...this.#series.values()].sort(
      (a, b) =>
        a.labels.route.localeCompare(b.labels.route) || a.labels.method.localeCompare(b.labels.method) || a.labels.status.localeCompare(b.labels.status),
    );
  }
}

/**
 * The request metrics of the app built over `deps`: they live exactly as long as those dependencies (one registry per
 * app instance, never shared between two apps in one process, as tests build many).
 */
const registries = new WeakMap<AppDeps, RequestMetrics>();
export function requestMetricsOf(deps: AppDeps): RequestMetrics {
  let metrics = registries.get(deps);
  if (!metrics) {
    metrics = new RequestMetrics();
    registries.set(deps, metrics);
  }
  return metrics;
}

/** The pattern of the route that answered (`/api/calls/:id`), or `unmatched` when only middleware ran. */
export function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]!;
    if (route.method !== "ALL") return route.path;
  }
  return UNMATCHED_ROUTE;
}

/** Times every request into the app's histogram, by method, route pattern and status (errors included). */
export const recordRequestMetrics: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = performance.now();
  try {
    await next();
  } finally {
    const seconds = (performance.now() - started) / 1000;
    requestMetricsOf(c.get("deps")).observe({ method: c.req.method, route: routeLabel(c), status: String(c.res.status) }, seconds);
  }
};

/** Everything one scrape of `/metrics` reports. */
export type MetricsSnapshot = {
  requests: RequestMetrics;
  cache: CacheStats;
  /** null when the database did not answer: the job and lag metrics are then left out */
  jobs: readonly JobRunStatus[] | null;
  rollupLagSec: number | null;
  /** absent when the app has no voice-provider client */
  voiceBreaker?: BreakerState;
};

/** Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Renders a snapshot in Prometheus text format: HELP and TYPE once per family, then its samples. */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  const out = new Exposition();

  out.family("tally_http_request_duration_seconds", "histogram", "Request duration by method, route pattern and status.");
  for (const series of snapshot.requests.series()) {
    REQUEST_DURATION_BUCKETS_SEC.forEach((bound, i) => {
      out.sample("tally_http_request_duration_seconds_bucket", { ...series.labels, le: String(bound) }, series.buckets[i]!);
    });
    out.sample("tally_http_request_duration_seconds_bucket", { ...series.labels, le: "+Inf" }, series.count);
    out.sample("tally_http_request_duration_seconds_sum", series.labels, series.sum);
    out.sample("tally_http_request_duration_seconds_count", series.labels, series.count);
  }

  const namespaces = Object.entries(snapshot.cache.namespaces).sort(([a], [b]) => a.localeCompare(b));
  const perNamespace = [
    ["tally_cache_hits_total", "Cache reads answered fresh.", "hits"],
    ["tally_cache_misses_total", "Cache reads that loaded the value.", "misses"],
    ["tally_cache_stale_total", "Cache reads answered stale while a refresh ran.", "stale"],
    ["tally_cache_load_errors_total", "Loads that failed behind the cache.", "loadErrors"],
  ] as const;
  for (const [name, help, field] of perNamespace) {
    out.family(name, "counter", help);
    for (const [namespace, stats] of namespaces) out.sample(name, { namespace }, stats[field]);
  }
  const store = snapshot.cache.store;
  if (store) {
    const labels = { store: store.kind };
    out.gauge("tally_cache_store_up", "1 while the shared cache store answers, 0 while the cache skips it.", labels, store.available ? 1 : 0);
    out.counter("tally_cache_store_errors_total", "Failed or timed-out cache store operations.", labels, store.errors);
    out.counter("tally_cache_store_write_errors_total", "Failed cache store writes.", labels, store.writeErrors);
    out.counter("tally_cache_store_skipped_writes_total", "Cache writes not attempted (store unavailable, value too large).", labels, store.skippedWrites);
    out.gauge("tally_cache_pending_invalidations", "Invalidations waiting for the store to answer again.", labels, store.pendingInvalidations);
  }

  out.gauge("tally_database_up", "1 when the database answered this scrape's query.", {}, snapshot.jobs ? 1 : 0);
  if (snapshot.rollupLagSec !== null) {
    out.gauge("tally_rollup_lag_seconds", "Seconds since the start of the last successful refresh-rollups run.", {}, snapshot.rollupLagSec);
  }
  if (snapshot.jobs) {
    const jobs = snapshot.jobs;
    const families = [
      [
        "tally_job_last_duration_seconds",
        "gauge",
        "Duration of the job's last run.",
        (j: JobRunStatus) => (j.lastDurationMs === null ? null : j.lastDurationMs / 1000),
      ],
      [
        "tally_job_last_success_timestamp_seconds",
        "gauge",
        "Start of the job's last successful run, Unix time.",
        (j: JobRunStatus) => (j.lastSuccessAt ? j.lastSuccessAt.getTime() / 1000 : null),
      ],
      ["tally_job_running", "gauge", "1 while a runner holds the job's lease.", (j: JobRunStatus) => (j.running ? 1 : 0)],
      ["tally_job_runs_total", "counter", "Finished runs of the job, all runners.", (j: JobRunStatus) => j.runs],
      ["tally_job_failures_total", "counter", "Failed runs of the job, all runners.", (j: JobRunStatus) => j.failures],
    ] as const;
    for (const [name, type, help, value] of families) {
      out.family(name, type, help);
      for (const job of jobs) {
        const v = value(job);
        if (v !== null) out.sample(name, { job: job.name }, v);
      }
    }
  }

  if (snapshot.voiceBreaker) {
    out.family("tally_voice_circuit_breaker_state", "gauge", "The voice-provider circuit breaker's state: 1 for the current one.");
    for (const state of BREAKER_STATES) out.sample("tally_voice_circuit_breaker_state", { state }, state === snapshot.voiceBreaker ? 1 : 0);
  }
  return out.text();
}

/** Writes the text format; label values are escaped as the format asks (backslash, quote, newline). */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
    this.#lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
  }

  gauge(name: string, help: string, labels: Record<string, string>, value: number): void {
    this.family(name, "gauge", help);
    this.sample(name, labels, value);
  }

  counter(name: string, help: string, labels: Record<string, string>, value: number): void {
    this.family(name, "counter", help);
    this.sample(name, labels, value);
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
