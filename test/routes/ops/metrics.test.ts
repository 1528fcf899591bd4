import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { memoryCache } from "../../../functions/cache/memory";
import { PROMETHEUS_CONTENT_TYPE, RequestMetrics, renderMetrics, REQUEST_DURATION_BUCKETS_SEC } from "../../../functions/ops/metrics";
import { testTarget } from "../../support/worker-target";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";
import { METRICS_MEMO_MS } from "../../../functions/routes/ops/metrics";

const NOW = new Date("2026-03-10T12:00:00Z");

const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

async function scrape(): Promise<string> {
  const res = await t.request("GET", "/metrics", { key: null });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
  return text;
}

/** `name{labels} value` samples of one scrape, keyed by the sample's text before the value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Holds a scrape to the text format: HELP then TYPE once per family, samples only under their family, valid lines. */
function expectWellFormed(text: string) {
  expect(text.endsWith("\n")).toBe(true);
  const families = new Set<string>();
  let current: string | undefined;
  for (const line of text.trimEnd().split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (help) {
      expect(families.has(help[1]!), `family ${help[1]} declared twice`).toBe(false);
      families.add(help[1]!);
      current = help[1];
      continue;
    }
    if (type) {
      expect(type[1]).toBe(current);
      continue;
    }
    expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
    const name = line.split(/[{ ]/)[0]!;
    expect(name === current || name.replace(/_(bucket|sum|count)$/, "") === current, `${name} outside its family ${current}`).toBe(true);
  }
}

describe("GET /metrics", () => {
  it("answers Prometheus text without a key, with a request-duration histogram per method, route pattern and status", async () => {
    const { readKey } = await t.createOrg();
    const missing = "00000000-0000-4000-8000-000000000000";
    for (let i = 0; i < 3; i++) expect((await t.request("GET", `/api/calls/${missing}`, { key: readKey })).status).toBe(404);
    expect((await t.request("GET", "/api/calls/not-a-uuid", { key: readKey })).status).toBe(400);
    expect((await t.request("GET", "/no/such/route", { key: null })).status).toBe(404);

    const text = await scrape();
    expectWellFormed(text);
    const s = samples(text);
    const series = 'method="GET",route="/api/calls/:id",status="404"';
    expect(s.get(`tally_http_request_duration_seconds_count{${series}}`), text).toBe(3);
    expect(s.get(`tally_http_request_duration_seconds_bucket{${series},le="+Inf"}`)).toBe(3);
    expect(s.get(`tally_http_request_duration_seconds_sum{${series}}`)).toBeGreaterThan(0);
    expect(s.get('tally_http_request_duration_seconds_count{method="GET",route="/api/calls/:id",status="400"}')).toBe(1);
    // an unmatched path is one series, never its raw path
    expect(s.get('tally_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toContain("/no/such/route");
    expect(text).not.toContain(missing);
    // buckets are cumulative
    const buckets = REQUEST_DURATION_BUCKETS_SEC.map((le) => s.get(`tally_http_request_duration_seconds_bucket{${series},le="${le}"}`)!);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
  });

  it("reports the cache's counters per namespace and its store", async () => {
    const { readKey } = await t.createOrg();
    const counter = (s: Map<string, number>, name: string) => s.get(`${name}{namespace="dashboard-overview"}`) ?? 0;
    const before = samples(await scrape());
    const first = await body(await t.request("GET", "/api/dashboard/overview?days=7", { key: readKey }));
    const second = await body(await t.request("GET", "/api/dashboard/overview?days=7", { key: readKey }));
    expect([first.meta.cache, second.meta.cache]).toEqual(["miss", "hit"]);
    const after = samples(await scrape());
    expect(counter(after, "tally_cache_misses_total") - counter(before, "tally_cache_misses_total")).toBe(1);
    expect(counter(after, "tally_cache_hits_total") - counter(before, "tally_cache_hits_total")).toBe(1);
    expect(counter(after, "tally_cache_stale_total") - counter(before, "tally_cache_stale_total")).toBe(0);
    // the in-process app's cache is in memory; the Worker's is Upstash (over the local Redis)
    expect(after.get(`tally_cache_store_up{store="${testTarget() === "worker" ? "upstash" : "memory"}"}`)).toBe(1);
  });

  it("reports each job's last duration, runs and failures from job_runs, and the rollup lag", async () => {
    const run = await t.request("POST", "/api/admin/jobs/maintain-partitions/run");
    const report = await body(run);
    expect(run.status, JSON.stringify(report)).toBe(200);
    // a second past the previous scrape, whose job_runs read /metrics keeps for up to a second (METRICS_MEMO_MS)
    clock.set(new Date(NOW.getTime() + METRICS_MEMO_MS));
    const lastSuccess = new Date(clock.now().getTime() - 42_000);
    await t.database.db.execute(sql`
      INSERT INTO job_runs (name, last_started_at, last_success_at, last_duration_ms, runs, failures)
      VALUES ('refresh-rollups', ${lastSuccess.toISOString()}::timestamptz, ${lastSuccess.toISOString()}::timestamptz, 1500, 7, 2)
      ON CONFLICT (name) DO UPDATE SET last_success_at = EXCLUDED.last_success_at, last_duration_ms = 1500, runs = 7, failures = 2`);

    const text = await scrape();
    expectWellFormed(text);
    const s = samples(text);
    expect(s.get('tally_job_runs_total{job="maintain-partitions"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('tally_job_last_duration_seconds{job="maintain-partitions"}')).toBe(report.data.durationMs / 1000);
    expect(s.get('tally_job_running{job="maintain-partitions"}')).toBe(0);
    expect(s.get('tally_job_runs_total{job="refresh-rollups"}')).toBe(7);
    expect(s.get('tally_job_failures_total{job="refresh-rollups"}')).toBe(2);
    expect(s.get('tally_job_last_duration_seconds{job="refresh-rollups"}')).toBe(1.5);
    expect(s.get('tally_job_last_success_timestamp_seconds{job="refresh-rollups"}')).toBe(lastSuccess.getTime() / 1000);
    expect(s.get("tally_rollup_lag_seconds")).toBe(42);
    expect(s.get("tally_database_up")).toBe(1);
    await t.database.db.execute(sql`DELETE FROM job_runs WHERE name = 'refresh-rollups'`);
    clock.set(NOW);
  });

  it("reads the database at most once a second however often it is scraped, and counts requests live", async () => {
    clock.set(new Date(NOW.getTime() + 10 * METRICS_MEMO_MS));
    const statements = async () => {
      const res = await t.request("GET", "/metrics", { key: null });
      expect(res.status).toBe(200);
      const id = res.headers.get("x-request-id");
      return t.logs.find((l) => l.requestId === id && (l.msg === "request" || l.msg === "slow request"))?.statements;
    };
    expect(await statements()).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await statements(), "within the second").toBe(0);
    clock.advance(METRICS_MEMO_MS);
    expect(await statements(), "a second later").toBeGreaterThan(0);
    clock.set(NOW);
  });

  it("leaves out the voice breaker when the app has no voice client", async () => {
    expect(await scrape()).not.toContain("tally_voice_circuit_breaker_state");
  });
});

describe("renderMetrics", () => {
  it("reports the voice breaker's state as one gauge per state, 1 for the current one", () => {
    const text = renderMetrics({ requests: new RequestMetrics(), cache: memoryCache(clock).stats(), jobs: [], rollupLagSec: null, voiceBreaker: "open" });
    expectWellFormed(text);
    const s = samples(text);
    expect(s.get('tally_voice_circuit_breaker_state{state="open"}')).toBe(1);
    expect(s.get('tally_voice_circuit_breaker_state{state="closed"}')).toBe(0);
    expect(s.get('tally_voice_circuit_breaker_state{state="half_open"}')).toBe(0);
    expect(text).not.toContain("tally_rollup_lag_seconds ");
  });

  it("escapes label values and reports the database down when job_runs could not be read", () => {
    const requests = new RequestMetrics();
    requests.observe({ method: "GET", route: 'a"b\\c\nd', status: "200" }, 0.02);
    const text = renderMetrics({ requests, cache: memoryCache(clock).stats(), jobs: null, rollupLagSec: null });
    expectWellFormed(text);
    expect(text).toContain('route="a\\"b\\\\c\\nd"');
    expect(samples(text).get("tally_database_up")).toBe(0);
    expect(text).not.toContain("tally_job_runs_total");
  });
});
