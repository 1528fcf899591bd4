import type { CacheResult } from "../cache/cache";
import type { CacheNamespace } from "../cache/namespaces";
import type { OrgContext, ReadContext } from "../context";
import type { Db } from "../db/database";
import { ApiError } from "../lib/errors";
import { previousWindow, resolveWindow, type PreviousWindow, type Window } from "../lib/windows";
import { localDate } from "../lib/time";

/** A window as a request or a job asks for it: the last `days` local days (the default), or explicit instants. */
export type WindowQuery = {
  days?: number | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** `previous`: the read model also reads the window of the same length before this one (SPEC §12) */
  compare?: "previous" | undefined;
};

/** The window a read model computes for, and the one before it when the request compares. */
export type ComparedWindow = Window & { previous?: PreviousWindow | undefined };

/** What a windowed read model reads: the database handle, its organization and the instant it computes for. */
type ReadModelContext = { db: Db; org: OrgContext; now: Date };

/** What the cache holds for a windowed aggregate: the read model's value and the window it was computed for. */
export type WindowedValue<T> = {
  window: { from: string; to: string; timezone: string; previous?: { from: string; to: string } };
  value: T;
};

/** A windowed aggregate's cached read: its namespace, default window and read model. */
export type WindowedAggregate<T> = {
  namespace: CacheNamespace<WindowedValue<T>>;
  defaultDays: number;
  /** the most local dates a window may touch (series routes answer one point per date) */
  maxDates?: number;
  /** the cache key's subject within the organization (one agent's id), when the read model answers for one */
  subject?: string;
  read: (ctx: ReadModelContext, window: ComparedWindow) => Promise<T>;
};

/**
 * Resolves the window in the organization's zone and answers the read model's result through the cache. A `days=N`
 * window is keyed by the local date of now (its `to` moves with the clock, so keying by instants would never hit); an
 * explicit `from`/`to` is keyed by its instants. The route and the warm-cache job both read through here: one key.
 * `compare=previous` adds the previous window (and a key part of its own: the key without it is unchanged).
 */
export function fetchWindowedAggregate<T>(ctx: ReadContext, aggregate: WindowedAggregate<T>, query: WindowQuery): Promise<CacheResult<WindowedValue<T>>> {
  const { org, now } = ctx;
  const explicit = query.from !== undefined || query.to !== undefined;
  // an explicit window is resolved (and refused) before anything else: its instants are its key. A `days=N` window is
  // resolved only when its value is loaded: its key is N and today's local date, so a hit lists no local dates (its
  // N dates are within every `maxDates`, which is never below the largest `days`) (issue #15)
  const explicitWindow = explicit ? checkedWindow(aggregate, query, org.timezone, now) : undefined;
  const key = explicitWindow
    ? windowedKey(aggregate, org, `from=${explicitWindow.from.toISOString()}:to=${explicitWindow.to.toISOString()}`, query.compare)
    : daysWindowKey(aggregate, org, query.days ?? aggregate.defaultDays, query.compare, now);
  const load = async () => {
    const window = explicitWindow ?? checkedWindow(aggregate, query, org.timezone, now);
    const previous = query.compare === "previous" ? previousWindow(query, window, aggregate.defaultDays) : undefined;
    return {
      window: {
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        timezone: window.timezone,
        ...(previous && { previous: { from: previous.from.toISOString(), to: previous.to.toISOString() } }),
      },
      value: await aggregate.read({ db: ctx.db, org, now }, { ...window, previous }),
    };
  };
  // Issue #18: an explicit window is a key the client chooses. One off the whole minute (a dashboard never sends one)
  // is answered exactly but not cached, and an organization stores at most EXPLICIT_WINDOWS_PER_ORG distinct
  // explicit windows per namespace, counted in the shared store across instances: past that, answered exactly, uncached.
  // A window without `to` ends at now: keyed by an instant that never comes again, it is not cached either.
  if (explicitWindow) {
    const cacheable = query.to !== undefined && onWholeMinute(explicitWindow.from) && onWholeMinute(explicitWindow.to);
    if (!cacheable) return uncached(load, now);
  }
  return aggregate.namespace.fetch(ctx.cache, key, load, { asOf: now, ...(explicit ? { maxKeysPerOrg: EXPLICIT_WINDOWS_PER_ORG } : {}) });
}

/** The cache key of a `days=N` window: N and the local date of now (its `to` moves with the clock). */
export function daysWindowKey(aggregate: WindowedAggregate<unknown>, org: OrgContext, days: number, compare: WindowQuery["compare"], now: Date): string {
  return windowedKey(aggregate, org, `days=${days}:${localDate(now, org.timezone)}`, compare);
}

const windowedKey = (aggregate: WindowedAggregate<unknown>, org: OrgContext, params: string, compare: WindowQuery["compare"]) =>
  `${org.id}:${aggregate.subject === undefined ? "" : `${aggregate.subject}:`}${org.timezone}:${params}${compare === "previous" ? ":compare=previous" : ""}`;

/** The request's window in the organization's zone, refused when it touches more local dates than the aggregate answers. */
function checkedWindow(aggregate: WindowedAggregate<unknown>, query: WindowQuery, timeZone: string, now: Date): Window {
  const window = resolveWindow(query, timeZone, now, aggregate.defaultDays);
  if (aggregate.maxDates !== undefined && window.dates.length > aggregate.maxDates)
    throw new ApiError("validation_failed", `The window touches ${window.dates.length} local dates; at most ${aggregate.maxDates} are allowed`, {
      errors: [{ path: "from", message: `the window may span at most ${aggregate.maxDates} local dates` }],
    });
  return window;
}

/**
 * Distinct explicit windows one organization may store per aggregate namespace, across instances (the count lives in
 * the shared store: `cache/key-budget.ts`), for as long as an entry lives (the cache's `maxKeysPerOrg`); past it a
 * window is answered exactly, uncached. A dashboard asks for a
 * handful (its `days=N` windows are keyed by date and do not count).
 */
export const EXPLICIT_WINDOWS_PER_ORG = 64;

const onWholeMinute = (instant: Date) => instant.getTime() % 60_000 === 0;

async function uncached<T>(load: () => Promise<T>, now: Date): Promise<CacheResult<T>> {
  return { value: await load(), status: "bypass", asOf: now, ttlSec: 0 };
}
