import { failureMessage, type ApiFailure, type Timing } from "./api";
import { h, one } from "./dom";
import { formatClock, formatMs } from "./format";

/** What every aggregate answer says about its freshness (SPEC §4); `partial` only on the agents list. */
export type FreshnessMeta = { asOf?: string; cache?: string; ttlSec?: number; partial?: boolean };

export type PanelName = "overview" | "analytics" | "agents" | "variance" | "coverage" | "calls" | "agent";

/**
 * One panel of the page: its state (`data-state`: loading, ready, error, unavailable) and a footer that makes
 * speed visible — when the numbers are exact for (`meta.asOf`), how the cache served them, the server's own time
 * (`Server-Timing: total`) and the round trip; stale and partial answers say so.
 */
export class Panel {
  readonly section: HTMLElement;
  readonly body: HTMLElement;
  private readonly footer: HTMLElement;
  /** the URL whose answer the body shows (a 304 for it needs no new rendering) */
  shownPath: string | null = null;
  /** when the shown answer was last confirmed by the server (a 200 or a 304), `Date.now()` */
  private updatedAt: number | null = null;

  constructor(readonly name: PanelName) {
    this.section = one(`[data-panel="${name}"]`);
    this.body = one(".panel-body", this.section);
    this.footer = one(".panel-meta", this.section);
  }

  get state(): string {
    return this.section.dataset.state ?? "idle";
  }

  loading(): void {
    this.section.dataset.state = "loading";
  }

  /** Replaces the body with `content` and the footer with the answer's freshness and timing. */
  show(content: Node[], meta: FreshnessMeta, timing: Timing, timeZone: string, path: string | null = null): void {
    this.body.replaceChildren(...content);
    this.showMeta(meta, timing, timeZone);
    this.shownPath = path;
    this.section.dataset.state = "ready";
    this.section.dataset.revalidated = "200";
  }

  /** The server confirmed the shown answer (304 to the page's If-None-Match): only "updated … ago" moves. */
  confirmed(): void {
    this.updatedAt = Date.now();
    this.section.dataset.revalidated = "304";
    this.section.dataset.state = "ready";
    this.tick();
  }

  /** Rewrites "updated N s ago" (the page calls this every second). */
  tick(): void {
    const span = this.footer.querySelector<HTMLElement>(".updated");
    if (!span || this.updatedAt === null) return;
    const sec = Math.max(0, Math.floor((Date.now() - this.updatedAt) / 1000));
    span.textContent = sec < 60 ? `updated ${sec} s ago` : `updated ${Math.floor(sec / 60)} min ago`;
    span.dataset.sec = String(sec);
  }

  /** Updates only the footer (a "load more" page of the same list). */
  showMeta(meta: FreshnessMeta, timing: Timing, timeZone: string): void {
    const parts: Node[] = [];
    if (meta.asOf) {
      parts.push(h("span", { class: "as-of", title: `meta.asOf ${meta.asOf}` }, `as of ${formatClock(meta.asOf, timeZone)}`));
    }
    if (meta.cache) parts.push(h("span", { class: `cache cache-${meta.cache}`, title: "meta.cache" }, `cache ${meta.cache}`));
    const others = Object.entries(timing.metrics).filter(([name]) => name !== "total");
    parts.push(
      h(
        "span",
        {
          class: "server-time",
          title: `Server-Timing: ${
            Object.entries(timing.metrics)
              .map(([k, v]) => `${k} ${v} ms`)
              .join(", ") || "absent"
          }`,
        },
        timing.serverMs === null ? "server time n/a" : `server ${formatMs(timing.serverMs)}`,
        ...others.map(([name, ms]) => ` (${name} ${formatMs(ms)})`),
      ),
      h("span", { class: "round-trip", title: "from request to parsed answer, in this browser" }, `round trip ${formatMs(timing.roundTripMs)}`),
    );
    if (meta.cache === "stale") {
      parts.push(
        h(
          "span",
          { class: "flag flag-stale" },
          `stale: last good numbers${meta.asOf ? ` from ${formatClock(meta.asOf, timeZone)}` : ""}, a refresh is under way`,
        ),
      );
    }
    if (meta.partial) parts.push(h("span", { class: "flag flag-partial" }, "partial: some voice configurations are stale or unavailable"));
    parts.push(h("span", { class: "updated", title: "when the server last confirmed these numbers (the page asks again every 15 s while it is visible)" }));
    this.updatedAt = Date.now();
    this.footer.replaceChildren(...parts.flatMap((part, i) => (i === 0 ? [part] : [" · ", part])));
    this.section.dataset.cache = meta.cache ?? "";
    this.section.dataset.serverMs = timing.serverMs === null ? "" : String(timing.serverMs);
    if (meta.asOf) this.section.dataset.asOf = meta.asOf;
    this.tick();
  }

  /** A failure in words; a route the server lacks is "unavailable", anything else an error. */
  fail(failure: Exclude<ApiFailure, { kind: "aborted" }>): void {
    this.body.replaceChildren(h("p", { class: `message message-${failure.kind}` }, failureMessage(failure)));
    this.footer.replaceChildren();
    this.shownPath = null;
    this.updatedAt = null;
    this.section.dataset.state = failure.kind === "missing" ? "unavailable" : "error";
  }
}
