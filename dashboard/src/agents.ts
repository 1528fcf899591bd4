import type { AgentListResponse } from "./api-types";
import { h, table } from "./dom";
import { formatDecimal, formatDuration, formatInt, formatRate } from "./format";

type Agent = AgentListResponse["data"][number];

const VOICE_TITLES: Record<Agent["voice"]["status"], string> = {
  ok: "voice configuration fresh from the provider",
  stale: "the provider did not answer in time: last known configuration",
  unavailable: "the provider did not answer and nothing is cached",
  none: "no voice agent at the provider",
};

/** Every non-archived agent with its last-30-days performance and voice status. */
export function renderAgents(agents: Agent[]): Node[] {
  if (agents.length === 0) return [h("p", { class: "empty" }, "No agents yet.")];
  const rows = agents.map((a) =>
    h(
      "tr",
      { "data-agent-id": a.id },
      h(
        "td",
        { class: "agent", title: a.user ? `${a.user.name} <${a.user.email}>` : (a.description ?? null) },
        h("span", { class: "agent-name" }, a.name),
        " ",
        h("span", { class: `tag kind-${a.kind}` }, a.kind),
      ),
      h("td", {}, h("span", { class: `tag status-${a.status}` }, a.status)),
      h("td", { class: "num", "data-field": "calls", "data-value": a.performance.calls }, formatInt(a.performance.calls)),
      h("td", { class: "num", "data-field": "successRate" }, formatRate(a.performance.successRate)),
      h("td", { class: "num" }, formatDuration(a.performance.avgDurationSec)),
      h("td", { class: "num" }, formatDecimal(a.performance.avgLeadScore)),
      h("td", { class: "num" }, formatInt(a.performance.creditsUsed)),
      h("td", {}, h("span", { class: `tag voice-${a.voice.status}`, title: VOICE_TITLES[a.voice.status], "data-field": "voice" }, a.voice.status)),
    ),
  );
  return [
    table(
      [
        "Agent",
        "Status",
        { label: "Calls", numeric: true },
        { label: "Success", numeric: true },
        { label: "Avg. call", numeric: true },
        { label: "Avg. score", numeric: true },
        { label: "Credits", numeric: true },
        { label: "Voice", title: "voice configuration at the provider" },
      ],
      rows,
      "agents-table",
    ),
  ];
}
