import type { CallListResponse } from "./api-types";
import { h, table } from "./dom";
import { formatDateTime, formatDuration, formatInt, humanize, NONE } from "./format";

type Call = CallListResponse["data"][number];

/** One row per call: start in the organization's zone, direction, status, duration, outcome, score, agent, contact. */
export function callRows(calls: Call[], timeZone: string): HTMLTableRowElement[] {
  return calls.map((call) =>
    h(
      "tr",
      { "data-call-id": call.id },
      h("td", { title: call.startedAt }, formatDateTime(call.startedAt, timeZone)),
      h("td", {}, call.direction === "inbound" ? "↘ in" : "↗ out"),
      h("td", {}, h("span", { class: `tag call-${call.status}` }, humanize(call.status))),
      h("td", { class: "num" }, formatDuration(call.durationSec)),
      h("td", {}, call.outcome ? humanize(call.outcome) : NONE),
      h("td", { class: "num" }, call.leadScore === null ? NONE : String(call.leadScore)),
      h("td", {}, call.agent?.name ?? NONE),
      h("td", {}, call.contact.name ?? "", h("div", { class: "sub" }, call.contact.phone)),
    ),
  );
}

/** The calls table (rows are appended to its body by "load more"), or a note when there are no calls. */
export function callsTable(rows: HTMLTableRowElement[]): HTMLTableElement {
  return table(
    ["Started", "Dir.", "Status", { label: "Duration", numeric: true }, "Outcome", { label: "Score", numeric: true }, "Agent", "Contact"],
    rows,
    "calls-table",
  );
}

/** "Showing 40 of 20,113 calls". */
export const shownOf = (shown: number, total: number): string => `Showing ${formatInt(shown)} of ${formatInt(total)} call${total === 1 ? "" : "s"}`;
