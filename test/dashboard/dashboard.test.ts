import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { body, createTestApp, ManualClock, type TestApp } from "../support/app";
import { insertAgents, insertCalls, insertServiceWithAppointments, insertSessions, type CallSeed } from "../support/fixtures";
import { browserSuite, launchBrowser, recordApiRequests, runBrowserSuites, startServer, waitRendered, type Browser, type LoopbackServer } from "./browser";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const OUTCOMES = ["appointment_booked", "qualified", "callback_requested", "not_interested", "voicemail", null] as const;

/** Noon in New York: far from a local midnight, so moving the clock a minute keeps every window's dates. */
const clock = new ManualClock("2026-06-10T16:00:00Z");
let t: TestApp;
let server: LoopbackServer;
let browser: Browser;
let readKey: string;
const screenshots = mkdtempSync(join(tmpdir(), "tally-dashboard-"));

/** An organization that exercises every panel: agents of each status, scored calls with analysis, sessions, a pipeline. */
async function seedOrganization(): Promise<string> {
  const org = await t.createOrg({ name: "Browser Dental", timezone: "America/New_York" });
  const db = t.database.db;
  const agents = await insertAgents(db, org.orgId, [
    { name: "Ava", kind: "ai" },
    { name: "Ben", kind: "ai" },
    { name: "Cyd", kind: "human" },
    { name: "Dee", kind: "ai", status: "paused" },
  ]);
  const now = clock.now().getTime();
  const calls: CallSeed[] = Array.from({ length: 120 }, (_, i) => {
    const agent = i % 9 === 8 ? null : agents[i % agents.length]!;
    // Ava is the star (high scores, bookings): her z-scores stand out
    const star = agent?.name === "Ava";
    return {
      agentId: agent?.id ?? null,
      contactIndex: i % 7,
      direction: i % 3 === 0 ? "outbound" : "inbound",
      status: i % 5 === 4 ? "missed" : "completed",
      startedAt: new Date(now - (i * 4.1 + 0.5) * HOUR),
      durationSec: i % 5 === 4 ? null : 60 + ((i * 37) % 400),
      creditsUsed: 1 + (i % 4),
      outcome: star ? "appointment_booked" : OUTCOMES[i % OUTCOMES.length]!,
      leadScore: i % 4 === 3 ? null : star ? 80 + (i % 20) : (i * 13) % 90,
      milestones: [{ key: "greeting", achieved: star || i % 2 === 0 }],
      objections: i % 3 === 0 ? [{ kind: "price", handled: star }] : [],
    };
  });
  await insertCalls(db, org.orgId, calls);
  await insertSessions(
    db,
    org.orgId,
    agents.slice(0, 3).flatMap((a, k) =>
      Array.from({ length: 6 }, (_, d) => ({
        agentId: a.id,
        startedAt: new Date(now - d * DAY - (9 + k) * HOUR),
        endedAt: new Date(now - d * DAY - (2 + k) * HOUR),
      })),
    ),
  );
  await insertServiceWithAppointments(db, org.orgId, 15_000, [
    { scheduledAt: new Date(now + 2 * DAY), status: "scheduled" },
    { scheduledAt: new Date(now + 3 * DAY), status: "scheduled" },
  ]);
  return org.readKey;
}

async function api<T = any>(path: string): Promise<T> {
  const res = await t.request("GET", path, { key: readKey });
  const json = await body<T>(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

beforeAll(async () => {
  t = await createTestApp({ clock });
  readKey = await seedOrganization();
  if (!runBrowserSuites) return;
  // the Node entry passes the demo key only on its embedded default; here the test plays that entry
  const app = createApp({ ...t.deps, dashboardDemoKey: readKey });
  server = await startServer(app.fetch);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await t?.close();
});

describe.skipIf(!runBrowserSuites)(browserSuite("the dashboard page in headless Chromium"), () => {
  it("opens on the demo numbers with no click, every panel with the API's numbers", async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(server.url + "/");
    await waitRendered(page);
    expect(await page.isVisible("#key-card"), "no key box: the page opened on the demo key").toBe(false);
    expect(new URL(page.url()).search, "the window is in the URL").toBe("?days=30");

    const states = await page.$$eval("[data-panel]:not([data-panel=agent])", (els) =>
      els.map((e) => `${e.getAttribute("data-panel")}:${e.getAttribute("data-state")}`),
    );
    const messages = await page.$$eval("[data-panel] .message", (els) => els.map((e) => e.textContent));
    expect(states, messages.join("\n")).toEqual(["overview:ready", "analytics:ready", "variance:ready", "agents:ready", "coverage:ready", "calls:ready"]);
    // the demo key is used, not saved: a key the user types is what the browser keeps
    expect(await page.evaluate(() => localStorage.getItem("tally.apiKey"))).toBeNull();
    expect(await page.textContent("#org-name")).toBe("Browser Dental");
    expect(await page.textContent("#org-timezone")).toBe("Times in America/New_York");

    // overview KPIs: raw values and the shown text, against the API's JSON (same cache entry: served as a hit)
    const overview = await api("/api/dashboard/overview?days=30");
    const kpi = (field: string) => page.getAttribute(`[data-kpi="${field}"]`, "data-value");
    expect(await kpi("calls.total")).toBe(String(overview.data.calls.total));
    expect(overview.data.calls.total).toBe(120);
    expect(await kpi("leads.total")).toBe(String(overview.data.leads.total));
    expect(await kpi("leads.booked")).toBe(String(overview.data.leads.booked));
    expect(await kpi("credits.balance")).toBe(String(overview.data.credits.balance));
    expect(await kpi("pipelineValueCents")).toBe("30000");
    expect(await kpi("agents.total")).toBe(String(overview.data.agents.total));
    expect(await kpi("calls.successRate")).toBe(String(overview.data.calls.successRate));
    expect(await page.textContent('[data-kpi="calls.total"] .kpi-value')).toBe(overview.data.calls.total.toLocaleString("en-US"));
    expect(await page.textContent('[data-kpi="pipelineValueCents"] .kpi-value')).toBe("$300");

    // analytics: a uPlot chart with one point per local date, lead quality and outcomes as the API counts them
    const analytics = await api("/api/dashboard/analytics?days=30");
    expect(await page.getAttribute(".uplot", "data-points")).toBe(String(analytics.data.series.length));
    expect(await page.locator('[data-panel="analytics"] canvas').count()).toBeGreaterThan(0);
    for (const quality of ["hot", "warm", "cold"] as const) {
      expect(await page.getAttribute(`.lead-quality [data-key="${quality}"]`, "data-value")).toBe(String(analytics.data.leadQuality[quality]));
    }
    expect(await page.getAttribute('.outcomes [data-key="appointment_booked"]', "data-value")).toBe(String(analytics.data.outcomes.appointment_booked));
    const hours = await page.$$eval(".hour-col", (els) => els.map((e) => Number(e.getAttribute("data-value"))));
    expect(hours).toEqual(analytics.data.byHourOfDay);

    // agents: every non-archived agent with its calls and voice status
    const agents = await api("/api/agents");
    const agentRows = await page.$$eval(".agents-table tbody tr", (rows) =>
      rows.map((r) => ({
        id: r.getAttribute("data-agent-id"),
        calls: r.querySelector('[data-field="calls"]')?.getAttribute("data-value"),
        voice: r.querySelector('[data-field="voice"]')?.textContent,
      })),
    );
    expect(agentRows).toEqual(agents.data.map((a: any) => ({ id: a.id, calls: String(a.performance.calls), voice: a.voice.status })));

    // variance: one row per agent plus the team's, z-scores on every metric cell, the notable ones tinted
    const variance = await api("/api/analytics/agent-variance?days=30");
    expect(await page.locator(".variance-table tbody tr[data-agent-id]").count()).toBe(variance.data.agents.length);
    const ava = variance.data.agents.find((a: any) => a.name === "Ava");
    const avaBooking = page.locator(`.variance-table tr[data-agent-id="${ava.agentId}"] td[data-metric="bookingRate"]`);
    expect(Number(await avaBooking.getAttribute("data-z"))).toBeCloseTo(ava.zScores.bookingRate, 2);
    expect(ava.zScores.bookingRate).toBeGreaterThan(1);
    expect(await avaBooking.getAttribute("class")).toContain("z-above");
    const notable = variance.data.agents.flatMap((a: any) => Object.values(a.zScores).filter((z: any) => z !== null && Math.abs(z) >= 1));
    expect(await page.locator(".variance-table .z-notable, .variance-table .z-strong").count()).toBe(notable.length);

    // coverage: a cell per local date × hour, each with the API's covered seconds
    const coverage = await api("/api/coverage?days=30");
    expect(await page.locator(".hm-cell").count()).toBe(coverage.data.length);
    const busiest = [...coverage.data].sort((a: any, b: any) => b.coveredSeconds - a.coveredSeconds)[0];
    expect(busiest.coveredSeconds).toBeGreaterThan(0);
    expect(await page.getAttribute(`.hm-cell[data-date="${busiest.date}"][data-hour="${busiest.hour}"]`, "data-covered")).toBe(String(busiest.coveredSeconds));

    // latest calls: 20, then 20 more over the keyset cursor
    const first = await api("/api/calls?limit=20");
    const shownIds = () => page.$$eval(".calls-table tbody tr", (rows) => rows.map((r) => r.getAttribute("data-call-id")));
    expect(await shownIds()).toEqual(first.data.map((c: any) => c.id));
    expect(await page.getAttribute(".calls-shown", "data-total")).toBe(String(first.meta.total));
    await page.click("[data-action=load-more]");
    await expect.poll(async () => (await shownIds()).length).toBe(40);
    const second = await api(`/api/calls?limit=20&cursor=${encodeURIComponent(first.meta.nextCursor)}`);
    expect((await shownIds()).slice(20)).toEqual(second.data.map((c: any) => c.id));
    expect(await page.textContent(".calls-shown")).toBe("Showing 40 of 120 calls");

    // speed made visible: every panel shows asOf, the cache outcome and the server's time
    for (const panel of ["overview", "analytics", "agents", "variance", "coverage", "calls"]) {
      const footer = await page.textContent(`[data-panel="${panel}"] .panel-meta`);
      expect(footer, panel).toMatch(/as of \d\d:\d\d:\d\d( [AP]M)? · cache (hit|miss|stale|bypass) · server \d/);
    }
    expect(await page.getAttribute('[data-panel="overview"]', "data-as-of")).toBe(overview.meta.asOf);
    expect(await page.textContent("#render-time")).toMatch(/All panels rendered in/);

    // nothing but this server was asked for anything
    expect(requests.filter((u) => !u.startsWith(server.url) && !u.startsWith("data:"))).toEqual([]);
    expect(errors).toEqual([]);
    const file = join(screenshots, "dashboard.png");
    await page.screenshot({ path: file, fullPage: true });
    await page.screenshot({ path: join(screenshots, "dashboard-top.png") });
    for (const panel of ["analytics", "variance", "coverage"])
      await page.locator(`[data-panel="${panel}"]`).screenshot({ path: join(screenshots, `${panel}.png`) });
    console.log(`dashboard screenshot: ${file}`);
    await page.close();
  });

  it("switching the window refetches the four windowed panels, and only those", async () => {
    const page = await browser.newPage();
    await page.goto(server.url + "/?days=30");
    await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
    const requests = recordApiRequests(page);
    await page.reload();
    await waitRendered(page);
    expect(requests.filter((r) => r.includes("days=30")).length).toBe(4);
    requests.length = 0;

    await page.click('.window-picker button[data-days="7"]');
    await waitRendered(page);
    expect([...requests].sort()).toEqual(
      [
        "/api/analytics/agent-variance?days=7",
        "/api/coverage?days=7",
        "/api/dashboard/analytics?days=7",
        "/api/dashboard/overview?days=7&compare=previous",
      ].sort(),
    );
    expect(await page.getAttribute('.window-picker button[data-days="7"]', "aria-pressed")).toBe("true");
    const overview = await api("/api/dashboard/overview?days=7");
    expect(await page.getAttribute('[data-kpi="calls.total"]', "data-value")).toBe(String(overview.data.calls.total));
    expect(overview.data.calls.total).toBeLessThan(120);
    expect(await page.locator(".hm-cell").count()).toBe(7 * 24);
    expect(await page.getAttribute(".uplot", "data-points")).toBe("7");
    expect(await page.locator(".window-label").first().textContent()).toBe("last 7 days");
    await page.close();
  });

  it("shows each overview KPI's change against the previous period, the previous value on hover, — when it was 0", async () => {
    const page = await browser.newPage();
    await page.goto(server.url + "/?days=7");
    await waitRendered(page);
    const week = await api("/api/dashboard/overview?days=7&compare=previous");
    const fields = ["calls.total", "calls.successRate", "calls.avgDurationSec", "leads.total", "leads.conversionRate", "leads.booked"];
    expect(week.data.previous.calls.total).toBeGreaterThan(0);
    for (const field of fields) {
      const [group, name] = field.split(".") as [string, string];
      const now = week.data[group][name] as number | null;
      const before = week.data.previous[group][name] as number | null;
      const delta = page.locator(`[data-kpi="${field}"] .kpi-delta`);
      expect(await delta.getAttribute("data-previous"), field).toBe(before === null ? "" : String(before));
      expect(await delta.getAttribute("title"), field).toMatch(/^previous period: /);
      const text = (await delta.textContent()) ?? "";
      if (before === null || before === 0 || now === null) expect(text, field).toBe("—");
      else {
        const change = (now - before) / before;
        expect(text, field).toBe(`${change > 0 ? "▲" : change < 0 ? "▼" : "="} ${Math.round(Math.abs(change) * 100)}%`);
      }
    }
    expect(await page.getAttribute('[data-kpi="calls.total"] .kpi-delta', "title")).toBe(
      `previous period: ${week.data.previous.calls.total.toLocaleString("en-US")}`,
    );
    // tiles without a previous value (pipeline, credits, agents) show none
    expect(await page.locator('[data-kpi="pipelineValueCents"] .kpi-delta').count()).toBe(0);

    // 90 days: the seeded calls all lie in the window, the previous 90 days hold none: "—", not a percent of 0
    await page.click('.window-picker button[data-days="90"]');
    await waitRendered(page);
    const quarter = await api("/api/dashboard/overview?days=90&compare=previous");
    expect(quarter.data.previous.calls.total).toBe(0);
    expect(await page.textContent('[data-kpi="calls.total"] .kpi-delta')).toBe("—");
    expect(await page.getAttribute('[data-kpi="calls.total"] .kpi-delta', "data-previous")).toBe("0");
    await page.locator('[data-panel="overview"]').screenshot({ path: join(screenshots, "overview-deltas.png") });
    await page.close();
  });

  it("opens an agent's panel from the variance and agents tables under #agent=<id>, and Back returns", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(server.url + "/?days=30");
    await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
    await page.reload();
    await waitRendered(page);
    const variance = await api("/api/analytics/agent-variance?days=30");
    const ava = variance.data.agents.find((a: any) => a.name === "Ava");

    await page.click(`.variance-table tr[data-agent-id="${ava.agentId}"] td >> nth=0`);
    await page.waitForSelector('[data-panel="agent"][data-state="ready"]');
    expect(new URL(page.url()).hash).toBe(`#agent=${ava.agentId}`);
    expect(await page.isVisible('[data-panel="agent"]')).toBe(true);
    expect(await page.isVisible('[data-panel="overview"]')).toBe(false);
    const perf = await api(`/api/agents/${ava.agentId}/performance?days=30`);
    expect(await page.textContent('[data-panel="agent"] .agent-title')).toBe("Ava");
    for (const [field, value] of Object.entries(perf.data.totals))
      expect(await page.getAttribute(`[data-panel="agent"] [data-kpi="totals.${field}"]`, "data-value"), field).toBe(value === null ? "" : String(value));
    expect(perf.data.totals.calls).toBeGreaterThan(0);
    expect(await page.getAttribute('[data-panel="agent"] .uplot', "data-points")).toBe(String(perf.data.series.length));
    expect(await page.locator('[data-panel="agent"] canvas').count()).toBeGreaterThan(0);
    expect(await page.getAttribute('[data-panel="agent"] .agent-outcomes [data-key="appointment_booked"]', "data-value")).toBe(
      String(perf.data.outcomes.appointment_booked),
    );
    expect(await page.$$eval('[data-panel="agent"] .hour-col', (els) => els.map((e) => Number(e.getAttribute("data-value"))))).toEqual(perf.data.byHourOfDay);
    await page.screenshot({ path: join(screenshots, "agent.png"), fullPage: true });

    // the browser's Back returns to the dashboard
    await page.goBack();
    await expect.poll(() => page.isVisible('[data-panel="overview"]')).toBe(true);
    expect(new URL(page.url()).hash).toBe("");
    expect(await page.isVisible('[data-panel="agent"]')).toBe(false);

    // from the agents table, and the panel's own Back button
    const agents = await api("/api/agents");
    const cyd = agents.data.find((a: any) => a.name === "Cyd");
    await page.click(`.agents-table tr[data-agent-id="${cyd.id}"] .agent-name`);
    await expect.poll(() => page.textContent('[data-panel="agent"][data-state="ready"] .agent-title')).toBe("Cyd");
    expect(new URL(page.url()).hash).toBe(`#agent=${cyd.id}`);
    await page.click("[data-action=agent-back]");
    await expect.poll(() => page.isVisible('[data-panel="overview"]')).toBe(true);
    expect(new URL(page.url()).hash).toBe("");

    // the agent's own URL opens its panel directly
    await page.goto(`${server.url}/#agent=${ava.agentId}`);
    await page.reload();
    await waitRendered(page);
    await expect.poll(() => page.textContent('[data-panel="agent"][data-state="ready"] .agent-title')).toBe("Ava");
    expect(await page.isVisible('[data-panel="variance"]')).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("says a bad key was not accepted, asks for another and recovers with a good one", async () => {
    const page = await browser.newPage();
    await page.goto(server.url + "/");
    await page.evaluate(() => localStorage.setItem("tally.apiKey", "tly_this_key_does_not_exist"));
    await page.reload();
    await waitRendered(page);
    expect(await page.textContent("#banner")).toMatch(/^This API key was not accepted \(HTTP 401/);
    expect(await page.isVisible("#key-card")).toBe(true);
    expect(await page.textContent('[data-panel="overview"] .message')).toMatch(/This API key was not accepted/);
    expect(await page.getAttribute('[data-panel="overview"]', "data-state")).toBe("error");
    await page.screenshot({ path: join(screenshots, "bad-key.png") });

    await page.fill("#key-input", readKey);
    await page.click("#key-form button[type=submit]");
    await waitRendered(page);
    expect(await page.isVisible("#banner")).toBe(false);
    expect(await page.getAttribute('[data-panel="overview"]', "data-state")).toBe("ready");
    await page.close();
  });

  it("says when the server is rate limiting (429, Retry-After) and retries by itself", async () => {
    // a gateway in front of the app that throttles one route while `throttled` is set
    let throttled = true;
    const app = createApp(t.deps);
    const gateway = await startServer((request) => {
      if (throttled && new URL(request.url).pathname === "/api/coverage") {
        return new Response(JSON.stringify({ type: "urn:tally:problem:rate-limited", title: "Too many requests", status: 429, detail: "slow down" }), {
          status: 429,
          headers: { "content-type": "application/problem+json", "retry-after": "1" },
        });
      }
      return app.fetch(request);
    });
    try {
      const page = await browser.newPage();
      await page.goto(gateway.url + "/");
      await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
      await page.reload();
      await waitRendered(page);
      expect(await page.textContent('[data-panel="coverage"] .message')).toMatch(/Too many requests.*HTTP 429.*again in 1 s/);
      expect(await page.textContent("#banner")).toMatch(/Too many requests/);
      expect(await page.getAttribute('[data-panel="overview"]', "data-state")).toBe("ready");
      throttled = false;
      await page.waitForSelector('[data-panel="coverage"][data-state="ready"]', { timeout: 10_000 });
      await page.close();
    } finally {
      await gateway.close();
    }
  });

  it("says a panel is not available when the server lacks its route", async () => {
    // a server of an older build: no coverage route (the gateway sends it to a path the app does not have)
    const app = createApp(t.deps);
    const older = await startServer((request) => {
      const url = new URL(request.url);
      if (url.pathname === "/api/coverage") url.pathname = "/api/coverage-of-a-later-release";
      return app.fetch(new Request(url, request));
    });
    try {
      const page = await browser.newPage();
      await page.goto(older.url + "/");
      await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
      await page.reload();
      await waitRendered(page);
      expect(await page.getAttribute('[data-panel="coverage"]', "data-state")).toBe("unavailable");
      expect(await page.textContent('[data-panel="coverage"] .message')).toBe("Not available: this server does not offer GET /api/coverage yet (HTTP 404).");
      expect(await page.getAttribute('[data-panel="overview"]', "data-state")).toBe("ready");
      expect(await page.isVisible("#banner")).toBe(false);
      await page.close();
    } finally {
      await older.close();
    }
  });

  it("marks a panel served stale from the cache as stale", async () => {
    const page = await browser.newPage();
    await page.goto(server.url + "/?days=30");
    await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
    await page.reload();
    await waitRendered(page);
    // past the aggregates' 30 s fresh window, inside their stale window: answered from the cache, marked stale
    clock.advance(60_000);
    await page.click("#refresh");
    await waitRendered(page);
    expect(await page.getAttribute('[data-panel="overview"]', "data-cache")).toBe("stale");
    expect(await page.textContent('[data-panel="overview"] .flag-stale')).toMatch(
      /^stale: last good numbers from \d\d:\d\d:\d\d( [AP]M)?, a refresh is under way$/,
    );
    expect(await page.locator('[data-panel="calls"] .flag-stale').count()).toBe(0);
    await page.close();
  });

  it("says the server cannot be reached when it is down", async () => {
    const app = createApp(t.deps);
    const doomed = await startServer(app.fetch);
    const page = await browser.newPage();
    await page.goto(doomed.url + "/");
    await page.evaluate((key) => localStorage.setItem("tally.apiKey", key), readKey);
    await page.reload();
    await waitRendered(page);
    await doomed.close();
    await page.click("#refresh");
    await waitRendered(page);
    expect(await page.textContent("#banner")).toMatch(/^Cannot reach the Tally server at http:\/\/127\.0\.0\.1:\d+\. Is it running\?/);
    expect(await page.getAttribute('[data-panel="agents"]', "data-state")).toBe("error");
    await page.screenshot({ path: join(screenshots, "server-down.png") });
    await page.close();
  });
});
