import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { CALL_EXPORT_COLUMNS } from "../../functions/routes/calls/export-calls";
import { body, createTestApp, ManualClock, type TestApp } from "../support/app";
import { insertAgents, insertCalls, type CallSeed } from "../support/fixtures";
import { browserSuite, launchBrowser, runBrowserSuites, startServer, waitRendered, type Browser, type LoopbackServer } from "./browser";

/**
 * Issue #20 in headless Chromium: the page opens on the numbers with the demo key (no click), its window lives in the
 * URL (`?days=`: reload, Back and Forward), it refreshes every panel every 15 s while visible (unchanged ones answer
 * 304 to its If-None-Match, and each says "updated N s ago"), not while hidden; "Export CSV" downloads the calls the
 * panel's filters select, the same rows as the API's.
 */

const HOUR = 3600_000;
const clock = new ManualClock("2026-06-10T16:00:00Z");
let t: TestApp;
let server: LoopbackServer;
let browser: Browser;
let readKey: string;

beforeAll(async () => {
  t = await createTestApp({ clock });
  const org = await t.createOrg({ name: "Live Dental", timezone: "America/New_York" });
  readKey = org.readKey;
  const agents = await insertAgents(t.database.db, org.orgId, [{ name: "Ava" }, { name: "Ben" }]);
  const now = clock.now().getTime();
  const calls: CallSeed[] = Array.from({ length: 90 }, (_, i) => ({
    agentId: agents[i % 2]!.id,
    contactIndex: i % 6,
    direction: i % 3 === 0 ? "outbound" : "inbound",
    status: i % 4 === 3 ? "missed" : "completed",
    // over 20 days: the 7-day and 30-day windows differ
    startedAt: new Date(now - (i * 5.3 + 0.5) * HOUR),
    durationSec: i % 4 === 3 ? null : 40 + i,
    leadScore: i % 3 === 0 ? null : (i * 7) % 100,
  }));
  await insertCalls(t.database.db, org.orgId, calls);
  if (!runBrowserSuites) return;
  // the Node entry passes the demo key on its embedded default; here the test plays that entry
  server = await startServer(createApp({ ...t.deps, dashboardDemoKey: readKey }).fetch);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await t?.close();
});

async function api<T = any>(path: string): Promise<T> {
  const res = await t.request("GET", path, { key: readKey });
  const json = await body<T>(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

const kpi = (page: import("playwright-core").Page, field: string) => page.getAttribute(`[data-panel="overview"] [data-kpi="${field}"]`, "data-value");

describe.skipIf(!runBrowserSuites)(browserSuite("the live dashboard in headless Chromium"), () => {
  it("keeps the window in the URL: ?days= opens it, a pick pushes it, reload keeps it, Back and Forward return", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/?days=7`);
    await waitRendered(page);
    expect(await page.isVisible("#key-card")).toBe(false);
    expect(await page.getAttribute('.window-picker button[data-days="7"]', "aria-pressed")).toBe("true");
    const week = await api("/api/dashboard/overview?days=7");
    const month = await api("/api/dashboard/overview?days=30");
    expect(week.data.calls.total).toBeLessThan(month.data.calls.total);
    expect(await kpi(page, "calls.total")).toBe(String(week.data.calls.total));

    await page.click('.window-picker button[data-days="30"]');
    await waitRendered(page);
    expect(new URL(page.url()).searchParams.get("days")).toBe("30");
    expect(await kpi(page, "calls.total")).toBe(String(month.data.calls.total));

    await page.reload();
    await waitRendered(page);
    expect(new URL(page.url()).searchParams.get("days")).toBe("30");
    expect(await page.getAttribute('.window-picker button[data-days="30"]', "aria-pressed")).toBe("true");
    expect(await kpi(page, "calls.total")).toBe(String(month.data.calls.total));

    await page.goBack();
    await expect.poll(() => kpi(page, "calls.total")).toBe(String(week.data.calls.total));
    expect(new URL(page.url()).searchParams.get("days")).toBe("7");
    await page.goForward();
    await expect.poll(() => kpi(page, "calls.total")).toBe(String(month.data.calls.total));
    await page.close();
  });

  it("refreshes every 15 s while visible: unchanged panels answer 304 to If-None-Match and say when they were updated", async () => {
    const page = await browser.newPage();
    await page.clock.install();
    const answers: { path: string; status: number; ifNoneMatch: string | null }[] = [];
    page.on("response", (response) => {
      const url = new URL(response.url());
      if (url.pathname.startsWith("/api/"))
        answers.push({ path: url.pathname, status: response.status(), ifNoneMatch: response.request().headers()["if-none-match"] ?? null });
    });
    await page.goto(`${server.url}/?days=30`);
    await waitRendered(page);
    const overview = () => answers.filter((a) => a.path === "/api/dashboard/overview");
    expect(overview().map((a) => a.status)).toEqual([200]);

    // each refresh is let finish before the clock moves on (a refresh still under way is not started twice)
    await page.clock.fastForward(15_000);
    await page.waitForSelector("body[data-refreshes='1']");
    await page.clock.fastForward(15_000);
    await page.waitForSelector("body[data-refreshes='2']");
    expect(overview().length).toBe(3);
    const [, first, second] = overview();
    expect(first!.ifNoneMatch, "the first refresh revalidates").toMatch(/^W\/"/);
    // the page's first answer may have been a cache miss, the next a hit (a different meta.cache): by the second refresh
    // the answer is the same bytes, and the server says so
    expect(second!.status).toBe(304);
    expect(second!.ifNoneMatch).toBeTruthy();
    await expect.poll(() => page.getAttribute('[data-panel="overview"]', "data-revalidated")).toBe("304");
    expect(await page.getAttribute('[data-panel="overview"]', "data-state")).toBe("ready");
    expect(await kpi(page, "calls.total")).toBe(String((await api("/api/dashboard/overview?days=30")).data.calls.total));
    for (const panel of ["overview", "analytics", "variance", "coverage", "agents", "calls"]) {
      expect(await page.textContent(`[data-panel="${panel}"] .panel-meta .updated`), panel).toMatch(/^updated \d+ s ago$/);
    }
    await page.clock.fastForward(5_000);
    expect(Number(await page.getAttribute('[data-panel="overview"] .updated', "data-sec"))).toBeGreaterThanOrEqual(5);

    // hidden: no requests however long; visible again: at once
    const before = answers.length;
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await page.clock.fastForward(60_000);
    await page.waitForTimeout(300);
    expect(answers.length, "no refresh while the tab is hidden").toBe(before);
    await page.evaluate(() => {
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await expect.poll(() => overview().length).toBe(4);
    await page.close();
  });

  it("shows the calls of the last filters chosen when the answer to the ones before comes back last", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await waitRendered(page);
    // the answer for "inbound" alone is held back in the browser until the one for "inbound, completed" has been shown
    const first = (url: URL) => url.pathname === "/api/calls" && url.searchParams.get("direction") === "inbound" && !url.searchParams.has("status");
    const ofFirst = (request: import("playwright-core").Request) => first(new URL(request.url()));
    // how the held request ends: the page aborts it (a later load supersedes it), or its answer reaches the page
    const outcome = new Promise<string>((resolve) => {
      page.on("requestfailed", (request) => ofFirst(request) && resolve("aborted"));
      page.on("requestfinished", (request) => ofFirst(request) && resolve("answered"));
    });
    let held: Promise<void> | undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route(first, (route) => {
      held = released.then(() => route.continue()).catch(() => undefined); // the page may have aborted it meanwhile
    });
    await page.selectOption("#calls-direction", "inbound");
    await expect.poll(() => held !== undefined).toBe(true);
    await page.selectOption("#calls-status", "completed");
    const filtered = await api("/api/calls?limit=100&direction=inbound&status=completed");
    await expect.poll(() => page.getAttribute(".calls-shown", "data-total")).toBe(String(filtered.meta.total));
    release();
    await held;
    // superseded, the older load was aborted: its answer never reached the page, and the list still shows the last one's
    expect(await outcome).toBe("aborted");
    expect(await page.getAttribute(".calls-shown", "data-total")).toBe(String(filtered.meta.total));
    await page.close();
  });

  it("Export CSV downloads the calls the panel's filters select, the same rows as the API", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await waitRendered(page);
    await page.selectOption("#calls-direction", "inbound");
    await page.selectOption("#calls-status", "completed");
    await page.waitForSelector('[data-panel="calls"][data-state="ready"]');
    const filtered = await api("/api/calls?limit=100&direction=inbound&status=completed");
    await expect.poll(() => page.getAttribute(".calls-shown", "data-total")).toBe(String(filtered.meta.total));

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
    expect(download.suggestedFilename()).toMatch(/^calls-[0-9T-]+Z\.csv$/);
    const text = readFileSync((await download.path())!, "utf8");
    const lines = text.split("\r\n").filter(Boolean);
    expect(lines[0]).toBe(CALL_EXPORT_COLUMNS.join(","));
    const ids = lines.slice(1).map((line) => line.split(",")[0]);
    expect(filtered.meta.total).toBeGreaterThan(0);
    expect(filtered.meta.total).toBeLessThan(90);
    expect(ids).toEqual(filtered.data.map((c: any) => c.id));
    const exported = await t.request("GET", "/api/calls/export?direction=inbound&status=completed", { key: readKey });
    expect(text).toBe(await exported.text());
    await expect.poll(() => page.getAttribute("#export-status", "data-filename")).toBe(download.suggestedFilename());
    // the key went in a header, never into a URL
    expect(download.url().startsWith("blob:")).toBe(true);
    await page.close();
  });
});
