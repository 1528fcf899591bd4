import uPlot from "uplot";
import type { AnalyticsResponse } from "./api-types";
import { h } from "./dom";
import { formatInt, formatLocalDate, humanize } from "./format";

type Analytics = AnalyticsResponse["data"];

const SERIES = [
  { key: "calls", label: "Calls", color: "#2f6fde" },
  { key: "completed", label: "Completed", color: "#16a06b" },
  { key: "leads", label: "Leads", color: "#e0a030" },
  { key: "qualified", label: "Qualified", color: "#d9480f" },
  { key: "booked", label: "Booked", color: "#7b4fd6" },
] as const;

const CHART_HEIGHT = 240;
/** Counts are whole: the value axis steps 1, 2, 5, 10, 20, 50… so it never labels 0.2 as "0". */
const COUNT_STEPS = Array.from({ length: 8 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

let chart: uPlot | null = null;
let resizeObserver: ResizeObserver | null = null;

/** Horizontal bars of counts (`data-key`, `data-value` carry the raw numbers). */
export function bars(title: string, entries: [string, number][], className: string): HTMLElement {
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return h(
    "div",
    { class: `bars ${className}` },
    h("h3", {}, title),
    ...entries.map(([key, n]) =>
      h(
        "div",
        { class: "bar-row", "data-key": key, "data-value": n },
        h("span", { class: "bar-label" }, humanize(key)),
        h("span", { class: "bar-track" }, h("span", { class: `bar-fill bar-${key}`, style: `width:${((n / max) * 100).toFixed(1)}%` })),
        h("span", { class: "bar-count" }, formatInt(n)),
      ),
    ),
  );
}

/** Calls by local hour: 24 columns, height relative to the busiest hour. */
export function hourColumns(byHour: number[]): HTMLElement {
  const max = Math.max(1, ...byHour);
  return h(
    "div",
    { class: "hours" },
    h("h3", {}, "Calls by local hour"),
    h(
      "div",
      { class: "hour-columns" },
      ...byHour.map((n, hour) =>
        h(
          "span",
          { class: "hour-col", "data-hour": hour, "data-value": n, title: `${String(hour).padStart(2, "0")}:00 — ${formatInt(n)} calls` },
          h("span", { class: "hour-fill", style: `height:${((n / max) * 100).toFixed(1)}%` }),
        ),
      ),
    ),
    h("div", { class: "hour-axis" }, ...[0, 6, 12, 18, 23].map((hour) => h("span", { style: `left:${((hour + 0.5) / 24) * 100}%` }, String(hour)))),
  );
}

/** One line of a daily chart: the series point's count under `key`. */
export type DailyLine<K extends string> = { readonly key: K; readonly label: string; readonly color: string };

/** A daily series as a uPlot line chart (one x step per local date), shared by the analytics and agent panels. */
export function dailyChart<K extends string>(
  series: readonly ({ date: string } & Record<K, number>)[],
  lines: readonly DailyLine<K>[],
  width: number,
  height: number,
): uPlot {
  const dates = series.map((p) => p.date);
  const label = (i: number) => (Number.isInteger(i) && dates[i] !== undefined ? formatLocalDate(dates[i]!) : "");
  const data: uPlot.AlignedData = [dates.map((_, i) => i), ...lines.map((s) => series.map((p) => p[s.key]))];
  const options: uPlot.Options = {
    width,
    height,
    scales: { x: { time: false, range: (_u, min, max) => (min === max ? [min - 0.5, max + 0.5] : [min, max]) } },
    axes: [
      { values: (_u, splits) => splits.map(label), incrs: [1, 2, 7, 14, 28], space: 56 },
      { values: (_u, splits) => splits.map((n) => formatInt(n)), incrs: COUNT_STEPS, size: 56 },
    ],
    series: [
      { label: "Date", value: (_u, i) => (i === null ? "—" : label(i)) },
      ...lines.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        points: { show: series.length <= 31 },
        value: (_u: uPlot, n: number | null) => (n === null ? "—" : formatInt(n)),
      })),
    ],
    cursor: { drag: { x: false, y: false } },
  };
  return new uPlot(options, data);
}

/** The daily series as a uPlot chart, then lead quality, outcomes and calls by local hour. */
export function renderAnalytics(a: Analytics, body: HTMLElement): Node[] {
  chart?.destroy();
  const width = Math.max(320, body.clientWidth || 640);
  chart = dailyChart(a.series, SERIES, width, CHART_HEIGHT);
  chart.root.dataset.points = String(a.series.length);
  if (!resizeObserver) {
    resizeObserver = new ResizeObserver(() => {
      if (chart && body.clientWidth > 0 && Math.abs(chart.width - body.clientWidth) > 4) chart.setSize({ width: body.clientWidth, height: CHART_HEIGHT });
    });
    resizeObserver.observe(body);
  }
  const quality: [string, number][] = [
    ["hot", a.leadQuality.hot],
    ["warm", a.leadQuality.warm],
    ["cold", a.leadQuality.cold],
  ];
  const outcomes = Object.entries(a.outcomes).sort(([, x], [, y]) => y - x);
  return [
    h("div", { class: "chart" }, chart.root),
    h("div", { class: "analytics-extras" }, bars("Lead quality", quality, "lead-quality"), bars("Outcomes", outcomes, "outcomes"), hourColumns(a.byHourOfDay)),
  ];
}
