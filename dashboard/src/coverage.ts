import type { CoverageResponse } from "./api-types";
import { h } from "./dom";
import { formatHours, formatLocalDate, formatRate } from "./format";

type CoverageHour = CoverageResponse["data"][number];

const HOUR_SEC = 3600;

/** Rows get shorter as the window grows, so 90 days still fit on a screen; labels thin out below this height. */
function rowHeight(days: number): number {
  return days <= 14 ? 18 : days <= 31 ? 12 : 6;
}

/**
 * A heatmap of local date × local hour: each cell's shade is the share of that hour with at least one agent online
 * (`coveredSeconds / 3600`, capped at 1 for a fall-back day's doubled hour); its tooltip adds the summed agent time.
 */
export function renderCoverage(hours: CoverageHour[]): Node[] {
  const byDate = new Map<string, CoverageHour[]>();
  for (const cell of hours) {
    const row = byDate.get(cell.date);
    if (row) row.push(cell);
    else byDate.set(cell.date, [cell]);
  }
  const dates = [...byDate.keys()];
  if (dates.length === 0) return [h("p", { class: "empty" }, "No dates in this window.")];
  const height = rowHeight(dates.length);
  const covered = hours.reduce((sum, c) => sum + c.coveredSeconds, 0);
  const agentSeconds = hours.reduce((sum, c) => sum + c.agentSeconds, 0);

  const grid = h("div", { class: "heatmap", style: `--row:${height}px`, "data-dates": dates.length });
  grid.append(
    h("span", { class: "hm-corner" }),
    ...Array.from({ length: 24 }, (_, hour) => h("span", { class: "hm-hour" }, hour % 3 === 0 ? String(hour) : "")),
  );
  dates.forEach((date, index) => {
    const showLabel = height >= 12 || index % 7 === 0 || index === dates.length - 1;
    grid.append(h("span", { class: "hm-date" }, showLabel ? formatLocalDate(date) : ""));
    const cells = byDate.get(date) ?? [];
    for (let hour = 0; hour < 24; hour++) {
      const cell = cells.find((c) => c.hour === hour);
      const share = cell ? Math.min(1, cell.coveredSeconds / HOUR_SEC) : 0;
      grid.append(
        h("span", {
          class: "hm-cell",
          style: share > 0 ? `--share:${share.toFixed(3)}` : null,
          "data-date": date,
          "data-hour": hour,
          "data-covered": cell?.coveredSeconds ?? 0,
          title: `${date} ${String(hour).padStart(2, "0")}:00 — covered ${formatRate(share)}, agent time ${formatHours(cell?.agentSeconds ?? 0)}`,
        }),
      );
    }
  });
  return [
    h(
      "p",
      { class: "coverage-summary" },
      `${formatRate(covered / (hours.length * HOUR_SEC))} of the window's hours covered · ${formatHours(agentSeconds)} of agent time`,
    ),
    grid,
    h("p", { class: "legend" }, "0% ", h("span", { class: "hm-scale" }), " 100% of the hour with an agent online"),
  ];
}
