import { renderAgentPerformance } from "./agent";
import { renderAgents } from "./agents";
import { renderAnalytics } from "./analytics";
import { download, failureMessage, getJson, type ApiFailure, type ApiResult } from "./api";
import type {
  AgentListResponse,
  AgentPerformanceResponse,
  AgentVarianceResponse,
  AnalyticsResponse,
  CallListResponse,
  CoverageResponse,
  OverviewResponse,
  Settings,
} from "./api-types";
import { callRows, callsTable, shownOf } from "./calls";
import { renderCoverage } from "./coverage";
import { h, one } from "./dom";
import { formatMs } from "./format";
import { renderOverview } from "./overview";
import { Panel, type FreshnessMeta } from "./panel";
import { renderVariance } from "./variance";

const KEY_STORAGE = "tally.apiKey";
const DAYS_STORAGE = "tally.days";
/** The windows of the picker (SPEC §4 allows 1–90 local days). */
const WINDOWS = [1, 7, 30, 90] as const;
const DEFAULT_DAYS = 30;
const CALLS_PAGE = 20;
/** Panels ask the server again this often while the tab is visible (each unchanged one costs a 304, SPEC §11). */
const REFRESH_MS = 15_000;
/** A 429 without Retry-After is retried after this long; a longer Retry-After than the cap still waits only the cap. */
const RETRY_DEFAULT_SEC = 5;
const RETRY_CAP_SEC = 60;

type Failure = Exclude<ApiFailure, { kind: "aborted" }>;

const panels = {
  overview: new Panel("overview"),
  analytics: new Panel("analytics"),
  agents: new Panel("agents"),
  variance: new Panel("variance"),
  coverage: new Panel("coverage"),
  calls: new Panel("calls"),
  agent: new Panel("agent"),
};

/** `#agent=<uuid>`: the agent panel's own URL (the browser's Back leaves it). */
const AGENT_HASH = /^#agent=([0-9a-fA-F-]{36})$/;
const agentOfHash = (): string | null => AGENT_HASH.exec(location.hash)?.[1] ?? null;

/** `?days=N` of the page's URL (1–90, SPEC §4), or null: the window is part of the URL, so a view can be shared. */
function daysOfUrl(): number | null {
  const value = new URLSearchParams(location.search).get("days");
  const days = Number(value);
  return value !== null && Number.isInteger(days) && days >= 1 && days <= 90 ? days : null;
}

/** This page's URL with the window `days` (the path, other parameters and the `#agent=` hash kept). */
function urlWithDays(days: number): string {
  const url = new URL(location.href);
  url.searchParams.set("days", String(days));
  return url.pathname + url.search + url.hash;
}

const storedDays = Number(localStorage.getItem(DAYS_STORAGE));
const demoKey = document.querySelector<HTMLMetaElement>('meta[name="tally-demo-key"]')?.content ?? "";
const state = {
  // a key this browser saved, else the demo key the server gave this page (loopback clients on the embedded default)
  key: localStorage.getItem(KEY_STORAGE) ?? (demoKey || null),
  days: daysOfUrl() ?? ((WINDOWS as readonly number[]).includes(storedDays) ? storedDays : DEFAULT_DAYS),
  /** bumped by every load; an answer of an older load is dropped */
  windowLoad: 0,
  fullLoad: 0,
  windowAbort: new AbortController(),
  fullAbort: new AbortController(),
  /** the organization's zone from GET /api/settings (null: not known, the aggregates' meta.timezone stands in) */
  timeZone: Promise.resolve<string | null>(null),
  callsCursor: null as string | null,
  /** the latest load of the calls list (a filter change, a page more, a refresh); each aborts the one before */
  callsAbort: new AbortController(),
  /** the agent whose panel is open (from the URL's `#agent=<id>`), or null: the dashboard */
  agentId: agentOfHash(),
  agentLoad: 0,
  /** whether this page opened the agent (so the browser's Back returns to the dashboard) */
  agentOpenedHere: false,
  agentAbort: new AbortController(),
  callsShown: 0,
  keyFormShown: false,
  firstRender: true,
  /** the calls panel's filters (and its CSV export's) */
  callsFilter: { direction: "", status: "" },
  /** `performance.now()` of the last load (shown or background), for the refresh timer */
  lastLoadAt: 0,
  refreshing: false,
};
const banner = one("#banner");
const keyCard = one("#key-card");
const keyInput = one<HTMLInputElement>("#key-input");
const main = one("#panels");

function showBanner(message: string, kind: string): void {
  banner.textContent = message;
  banner.dataset.kind = kind;
  banner.hidden = false;
}

function askForKey(reason?: string): void {
  state.keyFormShown = true;
  keyInput.value = state.key ?? demoKey;
  one("#key-hint").hidden = !demoKey || keyInput.value !== demoKey;
  keyCard.hidden = false;
  if (reason) showBanner(reason, "key");
  keyInput.focus();
}

/** The page-level consequence of a failure: a bad key asks for another one; a down server or 429 says so on top. */
function onFailure(failure: Failure): void {
  if (failure.kind === "key") {
    if (keyCard.hidden) askForKey(failureMessage(failure));
  } else if (failure.kind === "unreachable" || failure.kind === "rate-limited") {
    showBanner(failureMessage(failure), failure.kind);
  }
}

/**
 * Loads one panel: fetches (in parallel with every other panel), waits for the organization's zone, renders. A 429
 * is retried after its Retry-After; an answer of a superseded load is dropped.
 */
async function loadPanel<T>(options: {
  panel: Panel;
  path: string;
  signal: AbortSignal;
  current: () => boolean;
  meta: (body: T) => FreshnessMeta & { timezone?: string };
  render: (body: T, timeZone: string) => Node[];
  after?: (body: T) => void;
  /** a background refresh: the panel keeps showing its numbers while it asks */
  quiet?: boolean;
}): Promise<void> {
  const { panel } = options;
  if (!options.quiet) panel.loading();
  const [result, orgZone] = await Promise.all([getJson<T>(options.path, state.key ?? "", options.signal), state.timeZone]);
  if (!options.current()) return;
  if (!result.ok) {
    if (result.kind === "aborted") return;
    panel.fail(result);
    onFailure(result);
    if (result.kind === "rate-limited") {
      const wait = Math.min(RETRY_CAP_SEC, result.retryAfterSec ?? RETRY_DEFAULT_SEC);
      setTimeout(() => {
        if (options.current()) void loadPanel(options);
      }, wait * 1000);
    }
    return;
  }
  if (result.notModified && panel.shownPath === options.path) {
    panel.confirmed();
    return;
  }
  const meta = options.meta(result.body);
  const timeZone = orgZone ?? meta.timezone ?? "UTC";
  try {
    panel.show(options.render(result.body, timeZone), meta, result.timing, timeZone, options.path);
    options.after?.(result.body);
  } catch (error) {
    panel.fail({
      ok: false,
      kind: "failed",
      status: 200,
      detail: `the page could not show this answer (${error instanceof Error ? error.message : String(error)})`,
      requestId: null,
    });
  }
  if (!orgZone && meta.timezone) showZone(meta.timezone, "from the aggregates' meta.timezone");
}

function showZone(zone: string, source: string): void {
  const chip = one("#org-timezone");
  chip.textContent = `Times in ${zone}`;
  chip.title = `The organization's time zone (${source}): local dates and hours are read in it`;
  chip.dataset.zone = zone;
}

/** GET /api/settings gives the organization's name and zone; without it the zone comes from the aggregates. */
async function loadSettings(signal: AbortSignal): Promise<string | null> {
  const result: ApiResult<{ data: Settings }> = await getJson("/api/settings", state.key ?? "", signal);
  const name = one("#org-name");
  if (result.ok) {
    name.textContent = result.body.data.name;
    showZone(result.body.data.timezone, "GET /api/settings");
    return result.body.data.timezone;
  }
  if (result.kind !== "aborted") {
    name.textContent = result.kind === "missing" ? "(organization settings not available on this server)" : "";
    if (result.kind !== "missing") onFailure(result);
  }
  return null;
}

const windowLabel = (days: number) => (days === 1 ? "today" : `last ${days} days`);

function showWindowLabels(): void {
  for (const label of document.querySelectorAll(".window-label")) label.textContent = windowLabel(state.days);
}

/** The four panels whose numbers depend on the window. */
function windowPanels(quiet: boolean): Promise<void>[] {
  const load = ++state.windowLoad;
  state.windowAbort.abort();
  state.windowAbort = new AbortController();
  const signal = state.windowAbort.signal;
  const current = () => load === state.windowLoad;
  const days = `days=${state.days}`;
  showWindowLabels();
  return [
    loadPanel<OverviewResponse>({
      panel: panels.overview,
      path: `/api/dashboard/overview?${days}&compare=previous`,
      signal,
      current,
      quiet,
      meta: (b) => b.meta,
      render: (b) => renderOverview(b.data),
    }),
    loadPanel<AnalyticsResponse>({
      panel: panels.analytics,
      path: `/api/dashboard/analytics?${days}`,
      signal,
      current,
      quiet,
      meta: (b) => b.meta,
      render: (b) => renderAnalytics(b.data, panels.analytics.body),
    }),
    loadPanel<AgentVarianceResponse>({
      panel: panels.variance,
      path: `/api/analytics/agent-variance?${days}`,
      signal,
      current,
      quiet,
      meta: (b) => b.meta,
      render: (b) => renderVariance(b.data),
    }),
    loadPanel<CoverageResponse>({
      panel: panels.coverage,
      path: `/api/coverage?${days}`,
      signal,
      current,
      quiet,
      meta: (b) => b.meta,
      render: (b) => renderCoverage(b.data),
    }),
    ...(state.agentId ? [loadAgent(quiet)] : []),
  ];
}

/** The open agent's panel over the window (`GET /api/agents/{id}/performance`). */
function loadAgent(quiet = false): Promise<void> {
  const agentId = state.agentId;
  if (!agentId) return Promise.resolve();
  const load = ++state.agentLoad;
  state.agentAbort.abort();
  state.agentAbort = new AbortController();
  return loadPanel<AgentPerformanceResponse>({
    panel: panels.agent,
    path: `/api/agents/${encodeURIComponent(agentId)}/performance?days=${state.days}`,
    signal: state.agentAbort.signal,
    current: () => load === state.agentLoad && state.agentId === agentId,
    quiet,
    meta: (b) => b.meta,
    render: (b) => renderAgentPerformance(b.data, panels.agent.body),
  });
}

/** Shows the agent of the URL (`#agent=<id>`) or the dashboard; opening an agent loads its panel. */
function showView(): void {
  state.agentId = agentOfHash();
  if (!state.agentId) state.agentOpenedHere = false;
  main.dataset.view = state.agentId ? "agent" : "dashboard";
  if (state.agentId && state.key) {
    document.body.dataset.rendered = "false";
    void loadAgent().then(() => {
      document.body.dataset.rendered = "true";
    });
  }
}

/** The calls panel's filters as query parameters (`direction=inbound&status=missed`), empty ones left out. */
function callsFilterQuery(): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(state.callsFilter)) if (value) params.set(name, value);
  return params.toString();
}

/**
 * The first page of the latest calls, or the next one ("load more") over the keyset cursor. Each load supersedes the
 * list's earlier ones (aborted, their answers dropped): two filter changes in a row must not end on the first one's
 * answer when it comes back last.
 */
function loadCalls(outer: AbortSignal, outerCurrent: () => boolean, more: boolean, quiet = false): Promise<void> {
  state.callsAbort.abort();
  const controller = (state.callsAbort = new AbortController());
  // aborted with the load it belongs to as well (AbortSignal.any is newer than the browsers the page supports)
  if (outer.aborted) controller.abort();
  else outer.addEventListener("abort", () => controller.abort(), { once: true, signal: controller.signal });
  const signal = controller.signal;
  const current = () => outerCurrent() && !signal.aborted;
  const cursor = more && state.callsCursor ? `&cursor=${encodeURIComponent(state.callsCursor)}` : "";
  const filter = callsFilterQuery();
  const path = `/api/calls?limit=${CALLS_PAGE}${filter ? `&${filter}` : ""}${cursor}`;
  if (!more) {
    return loadPanel<CallListResponse>({
      panel: panels.calls,
      path,
      signal,
      current,
      quiet,
      meta: (b) => b.meta,
      render: (b, zone) => {
        state.callsShown = b.data.length;
        state.callsCursor = b.meta.nextCursor;
        if (b.data.length === 0) return [h("p", { class: "empty" }, filter ? "No calls match these filters." : "No calls yet.")];
        return [callsTable(callRows(b.data, zone)), callsFooter(b.meta.total)];
      },
    });
  }
  const button = panels.calls.body.querySelector<HTMLButtonElement>("[data-action=load-more]");
  if (button) button.disabled = true;
  return (async () => {
    const [result, orgZone] = await Promise.all([getJson<CallListResponse>(path, state.key ?? "", signal), state.timeZone]);
    if (!current()) return;
    if (button) button.disabled = false;
    if (!result.ok) {
      if (result.kind === "aborted") return;
      onFailure(result);
      one(".calls-more-status", panels.calls.body).textContent = failureMessage(result);
      return;
    }
    const zone = orgZone ?? "UTC";
    one("tbody", panels.calls.body).append(...callRows(result.body.data, zone));
    state.callsShown += result.body.data.length;
    state.callsCursor = result.body.meta.nextCursor;
    one(".calls-footer", panels.calls.body).replaceWith(callsFooter(result.body.meta.total));
    panels.calls.showMeta(result.body.meta, result.timing, zone);
  })();
}

function callsFooter(total: number): HTMLElement {
  const more = state.callsCursor
    ? h("button", { type: "button", "data-action": "load-more" }, `Load ${CALLS_PAGE} more`)
    : h("span", { class: "sub" }, "All calls shown.");
  return h(
    "div",
    { class: "calls-footer" },
    h("span", { class: "calls-shown", "data-shown": state.callsShown, "data-total": total }, shownOf(state.callsShown, total)),
    more,
    h("span", { class: "calls-more-status" }),
  );
}

/**
 * Loads panels and, when every one has settled, marks the page rendered (`body[data-rendered=true]`, and the time in
 * the header). `full` also reloads what the window does not change: settings, agents, latest calls.
 */
async function load(full: boolean, background = false): Promise<void> {
  const started = performance.now();
  state.lastLoadAt = started;
  if (background) return refreshInBackground(full);
  banner.hidden = true;
  document.body.dataset.rendered = "false";
  for (const button of document.querySelectorAll<HTMLButtonElement>(".window-picker button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.days) === state.days));
  }
  const tasks: Promise<void>[] = [];
  if (full) {
    const load = ++state.fullLoad;
    state.fullAbort.abort();
    state.fullAbort = new AbortController();
    const signal = state.fullAbort.signal;
    const current = () => load === state.fullLoad;
    state.timeZone = loadSettings(signal);
    tasks.push(
      loadPanel<AgentListResponse>({ panel: panels.agents, path: "/api/agents", signal, current, meta: (b) => b.meta, render: (b) => renderAgents(b.data) }),
      loadCalls(signal, current, false),
    );
  }
  const windowLoad = state.windowLoad + 1;
  tasks.push(...windowPanels(false));
  await Promise.all(tasks);
  if (windowLoad !== state.windowLoad) return;
  const ms = performance.now() - started;
  const parts = [`${full ? "All panels" : `Window "${windowLabel(state.days)}"`} rendered in ${formatMs(ms)}`];
  document.body.dataset.renderMs = ms.toFixed(1);
  if (state.firstRender && !state.keyFormShown) {
    // performance.now() counts from navigation start: this is navigation → every panel rendered
    document.body.dataset.navigationToRenderedMs = performance.now().toFixed(1);
    parts.push(`page load → all panels ${formatMs(performance.now())}`);
  }
  state.firstRender = false;
  one("#render-time").textContent = parts.join(" · ");
  document.body.dataset.rendered = "true";
}

/**
 * Asks the server again for every panel, quietly: each sends the ETag of what it shows, an unchanged panel gets a 304
 * and only its "updated … ago" moves; a changed one is redrawn. The calls list is left alone once "load more" has
 * added pages to it (a refresh would drop them).
 */
async function refreshInBackground(full: boolean): Promise<void> {
  if (state.refreshing || document.body.dataset.rendered !== "true") return;
  state.refreshing = true;
  try {
    const tasks: Promise<void>[] = [];
    if (full) {
      const load = state.fullLoad;
      const current = () => load === state.fullLoad;
      const signal = state.fullAbort.signal;
      tasks.push(
        loadPanel<AgentListResponse>({
          panel: panels.agents,
          path: "/api/agents",
          signal,
          current,
          quiet: true,
          meta: (b) => b.meta,
          render: (b) => renderAgents(b.data),
        }),
      );
      if (state.callsShown <= CALLS_PAGE) tasks.push(loadCalls(signal, current, false, true));
    }
    tasks.push(...windowPanels(true));
    await Promise.all(tasks);
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes ?? "0") + 1);
  } finally {
    state.refreshing = false;
  }
}

function refreshIfDue(): void {
  if (!state.key || main.hidden || document.visibilityState !== "visible") return;
  if (performance.now() - state.lastLoadAt >= REFRESH_MS - 50) void load(true, true);
}

function openDashboard(): void {
  keyCard.hidden = true;
  main.hidden = false;
  void load(true);
}

one("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  state.key = key;
  localStorage.setItem(KEY_STORAGE, key);
  openDashboard();
});
one("#change-key").addEventListener("click", () => askForKey());
one("#refresh").addEventListener("click", () => {
  if (state.key) openDashboard();
});
for (const button of document.querySelectorAll<HTMLButtonElement>(".window-picker button")) {
  button.addEventListener("click", () => {
    const days = Number(button.dataset.days);
    if (days === state.days && document.body.dataset.rendered === "true") return;
    state.days = days;
    localStorage.setItem(DAYS_STORAGE, String(days));
    history.pushState(null, "", urlWithDays(days));
    if (state.key) void load(false);
  });
}
panels.calls.body.addEventListener("click", (event) => {
  const target = event.target as HTMLElement;
  if (target.closest("[data-action=load-more]") && state.callsCursor)
    void loadCalls(
      state.fullAbort.signal,
      (
        (load) => () =>
          load === state.fullLoad
      )(state.fullLoad),
      true,
    );
});

// an agent row (variance or agents table) opens that agent's panel under its own URL; Back returns to the dashboard
for (const panel of [panels.variance, panels.agents]) {
  panel.body.addEventListener("click", (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>("tr[data-agent-id]");
    const agentId = row?.dataset.agentId;
    if (!agentId) return;
    state.agentOpenedHere = true;
    location.hash = `agent=${agentId}`;
  });
}
panels.agent.body.addEventListener("click", (event) => {
  if (!(event.target as HTMLElement).closest("[data-action=agent-back]")) return;
  // opened from a table: the browser's Back; opened from a link: to the dashboard, without leaving the page
  if (state.agentOpenedHere) history.back();
  else {
    history.pushState(null, "", location.pathname + location.search);
    showView();
  }
});
window.addEventListener("hashchange", showView);
// Back and Forward move between windows (each window a URL of its own)
window.addEventListener("popstate", () => {
  const days = daysOfUrl() ?? DEFAULT_DAYS;
  if (days === state.days) return;
  state.days = days;
  if (state.key) void load(false);
});

// the calls panel's filters reload its list; "Export CSV" downloads every call matching them
for (const select of document.querySelectorAll<HTMLSelectElement>(".calls-filters select")) {
  select.addEventListener("change", () => {
    state.callsFilter = { direction: one<HTMLSelectElement>("#calls-direction").value, status: one<HTMLSelectElement>("#calls-status").value };
    if (!state.key) return;
    const load = state.fullLoad;
    void loadCalls(state.fullAbort.signal, () => load === state.fullLoad, false);
  });
}
one("#export-csv").addEventListener("click", async () => {
  if (!state.key) return;
  const button = one<HTMLButtonElement>("#export-csv");
  const status = one("#export-status");
  button.disabled = true;
  status.textContent = "Exporting…";
  const filter = callsFilterQuery();
  const result = await download(`/api/calls/export${filter ? `?${filter}` : ""}`, state.key);
  button.disabled = false;
  if (result.ok) {
    status.textContent = `Saved ${result.filename}`;
    status.dataset.filename = result.filename;
  } else {
    status.textContent = failureMessage(result);
    onFailure(result);
  }
});

// live: every panel asks again every 15 s while the tab is visible, and at once when it becomes visible after that
setInterval(refreshIfDue, 1000);
document.addEventListener("visibilitychange", refreshIfDue);
setInterval(() => {
  for (const panel of Object.values(panels)) panel.tick();
}, 1000);

history.replaceState(null, "", urlWithDays(state.days));
showWindowLabels();
main.dataset.view = state.agentId ? "agent" : "dashboard";
if (state.key) openDashboard();
else askForKey();
