import type { CALL_DIRECTIONS, CALL_STATUSES } from "../../drizzle/schema/enums";
import { preparedRows, type Db } from "../db/database";
import { isRealInstant } from "../lib/schemas";
import { callCount } from "../rollups/queries";
import type { CallResource } from "../services/calls";
import type { OrgContext } from "../context";

/**
 * The calls list (SPEC §5 `GET /api/calls`, `GET /api/contacts/by-phone/{phone}/calls`) and the reconnect lookup.
 * Newest first by (started_at, id), keyset-paginated on the `calls_org_started_idx` index: a page is one statement
 * and the exact total for the filters another, whatever the page or the table's size (from the rollups when the
 * filters are direction, status and the time range only).
 */

export type CallListFilters = {
  direction?: (typeof CALL_DIRECTIONS)[number] | undefined;
  status?: (typeof CALL_STATUSES)[number] | undefined;
  agentId?: string | undefined;
  phoneNumber?: string | undefined;
  /** inclusive */
  from?: string | undefined;
  /** exclusive */
  to?: string | undefined;
};

/** A position in the list: the last row's started_at at Postgres's microsecond precision, and its id. */
export type CallCursor = { startedAt: string; id: string };

export type CallListItem = CallResource & {
  agent: { id: string; name: string } | null;
  contact: { id: string; name: string | null; phone: string };
};

export type CallPage = { items: CallListItem[]; nextCursor: string | null; total: number };

/** Default and largest page sizes (SPEC §5). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

const MICROSECOND_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Opaque to clients: base64url of `["<started_at, µs>", "<id>"]`. */
export function encodeCursor(cursor: CallCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify([cursor.startedAt, cursor.id]));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The position a cursor names, or null when it is not one this API issued (malformed or tampered). */
export function decodeCursor(value: string): CallCursor | null {
  if (value.length > 200 || !BASE64URL.test(value)) return null;
  try {
    const binary = atob(value.replaceAll("-", "+").replaceAll("_", "/"));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || parsed.length !== 2) return null;
    const [startedAt, id] = parsed as unknown[];
    if (typeof startedAt !== "string" || typeof id !== "string") return null;
    if (!MICROSECOND_INSTANT.test(startedAt) || !isRealInstant(startedAt) || !UUID.test(id)) return null;
    return { startedAt, id };
  } catch {
    return null;
  }
}

/**
 * The list's filters in the order their parameters are numbered: a request's shape (which of them it has, and whether
 * it has a cursor) fixes the statement's text, so the text is built once per shape and sent as a named prepared
 * statement, planned once a connection (issue #15: Drizzle's query builder and row mapping were a fifth of the first
 * page's CPU). A value is the parameter sent; none (undefined or empty) means the filter is absent.
 */
const FILTERS: readonly { condition: (n: number) => string; value: (f: CallListFilters) => unknown }[] = [
  { condition: (n) => `c.direction = $${n}::call_direction`, value: (f) => f.direction },
  { condition: (n) => `c.status = $${n}::call_status`, value: (f) => f.status },
  { condition: (n) => `c.agent_id = $${n}::uuid`, value: (f) => f.agentId },
  { condition: (n) => `c.phone_number = $${n}`, value: (f) => f.phoneNumber },
  // as instants at millisecond precision, as they were when Drizzle sent them as Dates
  { condition: (n) => `c.started_at >= $${n}::timestamptz`, value: (f) => f.from && new Date(f.from).toISOString() },
  { condition: (n) => `c.started_at < $${n}::timestamptz`, value: (f) => f.to && new Date(f.to).toISOString() },
];

/** `$1` the organization, then the present filters' values; the filters' bit mask says which are present. */
function filterParameters(orgId: string, filters: CallListFilters): { mask: number; params: unknown[] } {
  const params: unknown[] = [orgId];
  let mask = 0;
  FILTERS.forEach((filter, i) => {
    const value = filter.value(filters);
    if (!value) return; // absent (or empty, which validation refuses before): no condition, as before
    mask |= 1 << i;
    params.push(value);
  });
  return { mask, params };
}

/** The WHERE conditions of a filter mask, numbered from `$1` (the organization), and the next parameter's number. */
function whereOf(mask: number): { where: string; next: number } {
  const conditions = ["c.org_id = $1::uuid"];
  FILTERS.forEach((filter, i) => {
    if (mask & (1 << i)) conditions.push(filter.condition(conditions.length + 1));
  });
  return { where: conditions.join(" AND "), next: conditions.length + 1 };
}

/**
 * An instant as the API writes it (`Date#toISOString`: milliseconds, truncated as JavaScript truncates them), but for
 * years past 9999, which `isoOf` completes.
 */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * `isoText`'s text as `toISOString` writes it: a year past 9999 (an input of 9999-12-31T23:59:59.9999995Z or later,
 * which Postgres rounds up to the microsecond) gets JavaScript's sign and six digits ("+010000-01-01T…").
 */
function isoOf(text: string): string {
  const yearDigits = text.indexOf("-");
  return yearDigits === 4 ? text : `+${"0".repeat(6 - yearDigits)}${text}`;
}

/**
 * Newest first, as `calls_org_started_idx` (org_id, started_at DESC NULLS LAST, id DESC NULLS LAST) stores the rows:
 * a plain `DESC` means NULLS FIRST, which that index cannot answer (the columns are NOT NULL, but the planner goes by
 * the order as written). Postgres then walked `started_at` alone across every organization and sorted each run of
 * equal instants (a batch's calls share one) after joining every row of it: 5,130 buffers for the first page of a
 * 150k-call organization, against 120 in index order (BENCHMARKS.md, issue #15).
 */
const NEWEST_FIRST = "c.started_at DESC NULLS LAST, c.id DESC NULLS LAST";

/**
 * The columns of a list item, its instants already written as the API writes them, and `cursor_at` (started_at with
 * its microseconds, so a cursor lands exactly between two rows), over `calls c`, its agent `a` and its contact `ct`.
 */
const ITEM_COLUMNS_AND_JOINS = `SELECT c.id, c.external_id, c.agent_id, c.contact_id, c.direction, c.status, c.phone_number,
         ${isoText("c.started_at")} AS started_at, ${isoText("c.ended_at")} AS ended_at, c.duration_sec, c.credits_used,
         c.outcome, c.lead_score, c.reconnect_eligible, c.pool_id, c.site_id, c.country_code,
         ${isoText("c.created_at")} AS created_at, ${isoText("c.updated_at")} AS updated_at,
         to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at,
         a.id AS agent_ref, a.name AS agent_name, ct.name AS contact_name, ct.phone AS contact_phone
    FROM calls c
    LEFT JOIN agents a ON a.id = c.agent_id
    JOIN contacts ct ON ct.id = c.contact_id`;

type Statement = { name: string; text: string };

/** The page statement of a filter mask, with or without a cursor (built on first use, then reused). */
function pageStatement(mask: number, cursor: boolean): Statement {
  const key = mask * 2 + (cursor ? 1 : 0);
  let statement = pageStatements.get(key);
  if (!statement) {
    const { where, next } = whereOf(mask);
    const after = cursor ? ` AND (c.started_at, c.id) < ($${next}::timestamptz, $${next + 1}::uuid)` : "";
    const text = `${ITEM_COLUMNS_AND_JOINS}
   WHERE ${where}${after}
   ORDER BY ${NEWEST_FIRST}
   LIMIT $${cursor ? next + 2 : next}::int`;
    statement = { name: `tally_calls_page_${key}`, text };
    pageStatements.set(key, statement);
  }
  return statement;
}
const pageStatements = new Map<number, Statement>();

/** The raw count's statement of a filter mask (an agent or a phone number among the filters). */
function countStatement(mask: number): Statement {
  let statement = countStatements.get(mask);
  if (!statement) {
    statement = { name: `tally_calls_count_${mask}`, text: `SELECT count(*)::int AS total FROM calls c WHERE ${whereOf(mask).where}` };
    countStatements.set(mask, statement);
  }
  return statement;
}
const countStatements = new Map<number, Statement>();

type PageRow = {
  id: string;
  external_id: string | null;
  agent_id: string | null;
  contact_id: string;
  direction: CallListItem["direction"];
  status: CallListItem["status"];
  phone_number: string;
  started_at: string;
  ended_at: string | null;
  duration_sec: number | null;
  credits_used: number;
  outcome: CallListItem["outcome"];
  lead_score: number | null;
  reconnect_eligible: boolean;
  pool_id: string | null;
  site_id: string | null;
  country_code: string | null;
  created_at: string;
  updated_at: string;
  cursor_at: string;
  agent_ref: string | null;
  agent_name: string | null;
  contact_name: string | null;
  contact_phone: string;
};

/** A page row as the API answers it: `toCallResource`'s fields in its order, then the agent and the contact. */
function itemOf(r: PageRow): CallListItem {
  return {
    id: r.id,
    externalId: r.external_id,
    agentId: r.agent_id,
    contactId: r.contact_id,
    direction: r.direction,
    status: r.status,
    phoneNumber: r.phone_number,
    startedAt: isoOf(r.started_at),
    endedAt: r.ended_at === null ? null : isoOf(r.ended_at),
    durationSec: r.duration_sec,
    creditsUsed: r.credits_used,
    outcome: r.outcome,
    leadScore: r.lead_score,
    reconnectEligible: r.reconnect_eligible,
    poolId: r.pool_id,
    siteId: r.site_id,
    countryCode: r.country_code,
    createdAt: isoOf(r.created_at),
    updatedAt: isoOf(r.updated_at),
    agent: r.agent_ref === null ? null : { id: r.agent_ref, name: r.agent_name! },
    contact: { id: r.contact_id, name: r.contact_name, phone: r.contact_phone },
  };
}

/** Up to `limit` calls matching the filters, newest first, after `cursor` (the keyset of the list and the export). */
function pageRows(db: Db, filter: { mask: number; params: unknown[] }, cursor: CallCursor | null, limit: number): Promise<PageRow[]> {
  const statement = pageStatement(filter.mask, cursor !== null);
  const params = cursor ? [...filter.params, cursor.startedAt, cursor.id, limit] : [...filter.params, limit];
  return preparedRows<PageRow>(db, statement.name, statement.text, params);
}

/** The filters the rollups count by: `<direction>_<status>` columns per 15-minute bucket, and the window. */
const ROLLUP_COUNTED_FILTERS: ReadonlySet<string> = new Set<keyof CallListFilters>(["direction", "status", "from", "to"]);

/**
 * The exact number of calls matching `filters`: from the rollups (`callCount`: clean 15-minute rows of the window
 * plus the raw calls they do not cover) when the filters are only direction, status and the time range, which the
 * rollups count per bucket; a raw count otherwise (an agent or a phone number is no rollup dimension).
 */
async function exactTotal(db: Db, org: OrgContext, filters: CallListFilters, filter: { mask: number; params: unknown[] }): Promise<number> {
  if (Object.entries(filters).every(([name, value]) => value === undefined || ROLLUP_COUNTED_FILTERS.has(name))) {
    const window = {
      from: filters.from === undefined ? null : new Date(filters.from),
      to: filters.to === undefined ? null : new Date(filters.to),
      timezone: org.timezone,
    };
    return callCount({ db, orgId: org.id }, window, { direction: filters.direction, status: filters.status });
  }
  const statement = countStatement(filter.mask);
  const [row] = await preparedRows<{ total: number }>(db, statement.name, statement.text, filter.params);
  return row!.total;
}

/**
 * One page of calls matching `filters`, newest first, after `cursor`; and the exact number of calls matching the
 * filters (the cursor aside). Two statements, sent together. An agent id of another organization simply matches nothing.
 */
export async function listCalls(
  ctx: { db: Db; org: OrgContext },
  filters: CallListFilters,
  page: { limit: number; cursor: CallCursor | null },
): Promise<CallPage> {
  const { db, org } = ctx;
  const filter = filterParameters(org.id, filters);
  // the page and the count go out together, on two of the pool's connections (one after the other on PGlite's one)
  const [found, total] = await Promise.all([pageRows(db, filter, page.cursor, page.limit + 1), exactTotal(db, org, filters, filter)]);
  const more = found.length > page.limit;
  const shown = more ? found.slice(0, page.limit) : found;
  const last = shown[shown.length - 1];
  return {
    items: shown.map(itemOf),
    nextCursor: more && last ? encodeCursor({ startedAt: last.cursor_at, id: last.id }) : null,
    total,
  };
}

/**
 * The call a client may resume with its reconnect token: eligible, not ended, in progress, of this organization.
 * One statement on the partial index over `reconnect_token`.
 */
export async function reconnectableCall(ctx: { db: Db; org: OrgContext }, token: string): Promise<CallListItem | undefined> {
  const [row] = await preparedRows<PageRow>(ctx.db, "tally_call_reconnectable", RECONNECTABLE_CALL, [token, ctx.org.id]);
  return row ? itemOf(row) : undefined;
}
const RECONNECTABLE_CALL = `${ITEM_COLUMNS_AND_JOINS}
   WHERE c.reconnect_token = $1 AND c.org_id = $2::uuid AND c.reconnect_eligible AND c.ended_at IS NULL AND c.status = 'in_progress'
   ORDER BY c.started_at DESC
   LIMIT 1`;

/**
 * Every call matching `filters`, newest first, a page of `pageSize` at a time over the same keyset as the list (one
 * statement a page, no count): what the CSV export streams, holding one page in memory whatever the total.
 */
export async function* allCallPages(ctx: { db: Db; org: OrgContext }, filters: CallListFilters, pageSize: number): AsyncGenerator<CallListItem[]> {
  const filter = filterParameters(ctx.org.id, filters);
  let cursor: CallCursor | null = null;
  for (;;) {
    const found = await pageRows(ctx.db, filter, cursor, pageSize);
    if (found.length > 0) yield found.map(itemOf);
    const last = found[found.length - 1];
    if (found.length < pageSize || !last) return;
    cursor = { startedAt: last.cursor_at, id: last.id };
  }
}
