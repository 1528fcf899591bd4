import type { OverviewResponse } from "./api-types";
import { h } from "./dom";
import { formatCents, formatDecimal, formatDuration, formatHours, formatInt, formatRate } from "./format";

type Overview = OverviewResponse["data"];

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

/** The overview's KPI tiles: calls, leads, pipeline, credits and agents of the window. */
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
  return [h("div", { class: "kpis" }, ...tiles)];
}
