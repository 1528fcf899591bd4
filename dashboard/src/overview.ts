import type { OverviewResponse } from "./api-types";
import { h } from "./dom";
import { formatCents, formatDecimal, formatDuration, formatHours, formatInt, formatRate, NONE } from "./format";

type Overview = OverviewResponse["data"];
type Previous = NonNullable<Overview["previous"]>;

const changePercent = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/**
 * The change of a KPI against the previous period (`compare=previous`): ▲/▼ and the relative change in percent, the
 * previous value on hover; "—" when the previous value is 0 or unknown (no percent of nothing). `data-previous` holds
 * the raw previous value and `data-change` the relative change ("" when none), for tests.
 */
function delta(value: number | null, previous: number | null, shown: string): HTMLElement {
  const title = `previous period: ${shown}`;
  if (previous === null || previous === 0 || value === null)
    return h("div", { class: "kpi-delta delta-none", "data-previous": previous === null ? "" : String(previous), "data-change": "", title }, NONE);
  const change = (value - previous) / previous;
  const arrow = change > 0 ? "▲" : change < 0 ? "▼" : "=";
  const direction = change > 0 ? "delta-up" : change < 0 ? "delta-down" : "delta-flat";
  return h(
    "div",
    { class: `kpi-delta ${direction}`, "data-previous": String(previous), "data-change": String(change), title },
    `${arrow} ${changePercent.format(Math.abs(change) * 100)}%`,
  );
}

/** The KPIs that have a previous value, with how the previous value is shown on hover. */
const COMPARED: Record<string, { pick: (p: Previous) => number | null; format: (n: number | null) => string }> = {
  "calls.total": { pick: (p) => p.calls.total, format: formatInt },
  "calls.successRate": { pick: (p) => p.calls.successRate, format: formatRate },
  "calls.avgDurationSec": { pick: (p) => p.calls.avgDurationSec, format: formatDuration },
  "leads.total": { pick: (p) => p.leads.total, format: formatInt },
  "leads.conversionRate": { pick: (p) => p.leads.conversionRate, format: formatRate },
  "leads.booked": { pick: (p) => p.leads.booked, format: formatInt },
};

/**
 * One KPI tile. `data-kpi` names the field of the answer and `data-value` holds its raw value ("" for null), so a
 * test can hold the page to the API's JSON without parsing formatted text.
 */
function kpi(field: string, label: string, value: number | null, shown: string, sub: string): HTMLElement {
  return h(
    "div",
    { class: "kpi", "data-kpi": field, "data-value": value === null ? "" : String(value) },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: "kpi-value" }, shown),
    h("div", { class: "kpi-sub" }, sub),
  );
}

/** Adds the change against the previous period under the value of each compared tile. */
function withDeltas(tiles: HTMLElement[], previous: Previous | undefined): HTMLElement[] {
  if (!previous) return tiles;
  for (const tile of tiles) {
    const compared = COMPARED[tile.dataset.kpi ?? ""];
    if (!compared) continue;
    const value = tile.dataset.value === "" || tile.dataset.value === undefined ? null : Number(tile.dataset.value);
    const before = compared.pick(previous);
    tile.querySelector(".kpi-value")?.after(delta(value, before, compared.format(before)));
  }
  return tiles;
}

/** The overview's KPI tiles: calls, leads, pipeline, credits and agents of the window; calls and leads with their change. */
export function renderOverview(o: Overview): Node[] {
  const tiles = [
    kpi("calls.total", "Calls", o.calls.total, formatInt(o.calls.total), `${formatInt(o.calls.completed)} completed`),
    kpi("calls.successRate", "Success rate", o.calls.successRate, formatRate(o.calls.successRate), "completed / all calls"),
    kpi(
      "calls.avgDurationSec",
      "Avg. call",
      o.calls.avgDurationSec,
      formatDuration(o.calls.avgDurationSec),
      `${formatHours(o.calls.totalDurationSec)} talk time`,
    ),
    kpi("leads.total", "Leads", o.leads.total, formatInt(o.leads.total), `${formatInt(o.leads.qualified)} qualified (score ≥ 70)`),
    kpi("leads.conversionRate", "Conversion", o.leads.conversionRate, formatRate(o.leads.conversionRate), `avg. score ${formatDecimal(o.leads.avgScore)}`),
    kpi("leads.booked", "Booked", o.leads.booked, formatInt(o.leads.booked), "appointments from calls"),
    kpi("pipelineValueCents", "Pipeline", o.pipelineValueCents, formatCents(o.pipelineValueCents), "scheduled appointments ahead"),
    kpi("credits.balance", "Credits", o.credits.balance, formatInt(o.credits.balance), `${formatInt(o.credits.usedThisMonth)} used this month`),
    kpi(
      "agents.total",
      "Agents",
      o.agents.total,
      formatInt(o.agents.total),
      `${formatInt(o.agents.active)} active · ${formatInt(o.agents.paused)} paused · ${formatInt(o.agents.draft)} draft`,
    ),
  ];
  return [h("div", { class: "kpis" }, ...withDeltas(tiles, o.previous))];
}
