import type { AgentVarianceResponse } from "./api-types";
import { h, table } from "./dom";
import { formatDecimal, formatDuration, formatInt, formatRate, NONE } from "./format";

type Variance = AgentVarianceResponse["data"];
type Metric = keyof Variance["team"];

/** The seven metrics of SPEC §5, in the order of the table, with how each is shown. */
const METRICS: { key: Metric; label: string; format: (n: number | null) => string }[] = [
  { key: "calls", label: "Calls", format: formatInt },
  { key: "completionRate", label: "Completion", format: formatRate },
  { key: "avgDurationSec", label: "Avg. call", format: formatDuration },
  { key: "avgLeadScore", label: "Avg. score", format: formatDecimal },
  { key: "bookingRate", label: "Booking", format: formatRate },
  { key: "milestoneRate", label: "Milestones", format: formatRate },
  { key: "objectionHandledRate", label: "Objections handled", format: formatRate },
];

/** |z| from which a cell is tinted, and from which it is tinted strongly. */
const Z_NOTABLE = 1;
const Z_STRONG = 2;

function zClass(z: number | null): string | null {
  if (z === null || Math.abs(z) < Z_NOTABLE) return null;
  return `${z > 0 ? "z-above" : "z-below"} ${Math.abs(z) >= Z_STRONG ? "z-strong" : "z-notable"}`;
}

/** Each agent against the team: its metrics, every cell with its z-score, notable ones tinted; the team's mean last. */
export function renderVariance(v: Variance): Node[] {
  if (v.agents.length === 0) return [h("p", { class: "empty" }, "No agents in this window.")];
  const agents = [...v.agents].sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
  const rows = agents.map((a) =>
    h(
      "tr",
      { "data-agent-id": a.agentId },
      h("td", {}, a.name),
      ...METRICS.map(({ key, format }) => {
        const z = a.zScores[key];
        return h(
          "td",
          {
            class: ["num", zClass(z)].filter(Boolean).join(" "),
            "data-metric": key,
            "data-z": z === null ? "" : z.toFixed(3),
            title: z === null ? "z-score n/a" : `z = ${z.toFixed(2)}`,
          },
          format(a[key]),
          h("small", { class: "z" }, z === null ? "" : `${z > 0 ? "+" : ""}${z.toFixed(1)}σ`),
        );
      }),
    ),
  );
  const team = h(
    "tr",
    { class: "team-row" },
    h("td", {}, "Team mean ± sd"),
    ...METRICS.map(({ key, format }) => {
      const stat = v.team[key];
      return h("td", { class: "num" }, format(stat.mean), h("small", { class: "z" }, stat.stddev === null ? NONE : `± ${format(stat.stddev)}`));
    }),
  );
  return [
    table(["Agent", ...METRICS.map((m) => ({ label: m.label, numeric: true }))], [...rows, team], "variance-table"),
    h(
      "p",
      { class: "legend" },
      h("span", { class: "swatch z-above z-notable" }),
      " above the team mean, ",
      h("span", { class: "swatch z-below z-notable" }),
      ` below; tinted from |z| ≥ ${Z_NOTABLE}, strong from |z| ≥ ${Z_STRONG}.`,
    ),
  ];
}
