import uPlot from "uplot";
import { bars, dailyChart, hourColumns } from "./analytics";
import type { AgentPerformanceResponse } from "./api-types";
import { h } from "./dom";
import { formatDecimal, formatDuration, formatInt, formatRate } from "./format";

type Performance = AgentPerformanceResponse["data"];

const SERIES = [
  { key: "calls", label: "Calls", color: "#2f6fde" },
  { key: "completed", label: "Completed", color: "#16a06b" },
  { key: "booked", label: "Booked", color: "#7b4fd6" },
] as const;

const CHART_HEIGHT = 220;

let chart: uPlot | null = null;

/** The agent's totals as tiles (`data-kpi` names the field, `data-value` its raw value, as the overview's). */
function totals(p: Performance): HTMLElement {
  const t = p.totals;
  const tile = (field: string, label: string, value: number | null, shown: string) =>
    h(
      "div",
      { class: "kpi", "data-kpi": `totals.${field}`, "data-value": value === null ? "" : String(value) },
      h("div", { class: "kpi-label" }, label),
      h("div", { class: "kpi-value" }, shown),
    );
  return h(
    "div",
    { class: "kpis" },
    tile("calls", "Calls", t.calls, formatInt(t.calls)),
    tile("completionRate", "Completion", t.completionRate, formatRate(t.completionRate)),
    tile("avgDurationSec", "Avg. call", t.avgDurationSec, formatDuration(t.avgDurationSec)),
    tile("avgLeadScore", "Avg. score", t.avgLeadScore, formatDecimal(t.avgLeadScore)),
    tile("bookingRate", "Booking", t.bookingRate, formatRate(t.bookingRate)),
    tile("milestoneRate", "Milestones", t.milestoneRate, formatRate(t.milestoneRate)),
    tile("objectionHandledRate", "Objections handled", t.objectionHandledRate, formatRate(t.objectionHandledRate)),
  );
}

/** One agent's story: who it is, its totals, its daily series (uPlot), outcomes and calls by local hour; Back returns. */
export function renderAgentPerformance(p: Performance, body: HTMLElement): Node[] {
  chart?.destroy();
  chart = dailyChart(p.series, SERIES, Math.max(320, body.clientWidth || 640), CHART_HEIGHT);
  chart.root.dataset.points = String(p.series.length);
  const outcomes = Object.entries(p.outcomes).sort(([, x], [, y]) => y - x);
  return [
    h(
      "div",
      { class: "agent-head", "data-agent-id": p.agent.id },
      h("button", { type: "button", "data-action": "agent-back" }, "← Back"),
      h("span", { class: "agent-title" }, p.agent.name),
      h("span", { class: `tag kind-${p.agent.kind}` }, p.agent.kind),
      h("span", { class: `tag status-${p.agent.status}` }, p.agent.status),
    ),
    totals(p),
    h("div", { class: "chart agent-chart" }, chart.root),
    h("div", { class: "analytics-extras" }, bars("Outcomes", outcomes, "agent-outcomes"), hourColumns(p.byHourOfDay)),
  ];
}
