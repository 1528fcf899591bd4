import { and, count, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { agents, calls, contacts } from "../../drizzle/schema";
import type { CALL_DIRECTIONS, CALL_STATUSES } from "../../drizzle/schema/enums";
import { firstRow, type Db } from "../db/database";
import { isRealInstant } from "../lib/schemas";
import { callCountSql } from "../rollups/queries";
import { toCallResource, type CallResource } from "../services/calls";
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

function filterConditions(orgId: string, filters: CallListFilters): SQL[] {
  const where: SQL[] = [eq(calls.orgId, orgId)];
  if (filters.direction) where.push(eq(calls.direction, filters.direction));
  if (filters.status) where.push(eq(calls.status, filters.status));
  if (filters.agentId) where.push(eq(calls.agentId, filters.agentId));
  if (filters.phoneNumber) where.push(eq(calls.phoneNumber, filters.phoneNumber));
  if (filters.from) where.push(gte(calls.startedAt, new Date(filters.from)));
  if (filters.to) where.push(lt(calls.startedAt, new Date(filters.to)));
  return where;
}

/**
 * Newest first, as `calls_org_started_idx` (org_id, started_at DESC NULLS LAST, id DESC NULLS LAST) stores the rows:
 * a plain `DESC` means NULLS FIRST, which that index cannot answer (the columns are NOT NULL, but the planner goes by
 * the order as written). Postgres then walked `started_at` alone across every organization and sorted each run of
 * equal instants (a batch's calls share one) after joining every row of it: 5,130 buffers for the first page of a
 * 150k-call organization, against 120 in index order (BENCHMARKS.md, issue #15).
 */
const NEWEST_FIRST = [sql`${calls.startedAt} DESC NULLS LAST`, sql`${calls.id} DESC NULLS LAST`];

/** started_at as text with its microseconds, so a cursor lands exactly between two rows. */
const startedAtMicros = sql<string>`to_char(${calls.startedAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const itemColumns = {
  call: calls,
  cursorAt: startedAtMicros,
  agent: { id: agents.id, name: agents.name },
  contact: { id: contacts.id, name: contacts.name, phone: contacts.phone },
};

type ItemRow = {
  call: typeof calls.$inferSelect;
  agent: { id: string; name: string } | null;
  contact: { id: string; name: string | null; phone: string };
};

function toItem(row: ItemRow): CallListItem {
  return { ...toCallResource(row.call), agent: row.agent?.id ? row.agent : null, contact: row.contact };
}

/** Up to `limit` calls matching `where`, newest first, after `cursor` (the keyset of the list and the export). */
function pageRows(db: Db, where: SQL[], cursor: CallCursor | null, limit: number) {
  const after = cursor ? [sql`(${calls.startedAt}, ${calls.id}) < (${cursor.startedAt}::timestamptz, ${cursor.id}::uuid)`] : [];
  return db
    .select(itemColumns)
    .from(calls)
    .leftJoin(agents, eq(agents.id, calls.agentId))
    .innerJoin(contacts, eq(contacts.id, calls.contactId))
    .where(and(...where, ...after))
    .orderBy(...NEWEST_FIRST)
    .limit(limit);
}

/** The filters the rollups count by: `<direction>_<status>` columns per 15-minute bucket, and the window. */
const ROLLUP_COUNTED_FILTERS: ReadonlySet<string> = new Set<keyof CallListFilters>(["direction", "status", "from", "to"]);

/**
 * The exact number of calls matching `filters`: from the rollups (`callCountSql`: clean 15-minute rows of the window
 * plus the raw calls they do not cover) when the filters are only direction, status and the time range, which the
 * rollups count per bucket; a raw count otherwise (an agent or a phone number is no rollup dimension).
 */
async function exactTotal(db: Db, org: OrgContext, filters: CallListFilters, where: SQL[]): Promise<number> {
  if (Object.entries(filters).every(([name, value]) => value === undefined || ROLLUP_COUNTED_FILTERS.has(name))) {
    const window = {
      from: filters.from === undefined ? null : new Date(filters.from),
      to: filters.to === undefined ? null : new Date(filters.to),
      timezone: org.timezone,
    };
    const row = await firstRow<{ calls: number }>(db, callCountSql(org.id, window, { direction: filters.direction, status: filters.status }));
    return row!.calls;
  }
  const [row] = await db
    .select({ total: count() })
    .from(calls)
    .where(and(...where));
  return Number(row?.total ?? 0);
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
  const where = filterConditions(org.id, filters);
  // the page and the count go out together, on two of the pool's connections (one after the other on PGlite's one)
  const [found, total] = await Promise.all([pageRows(db, where, page.cursor, page.limit + 1), exactTotal(db, org, filters, where)]);
  const more = found.length > page.limit;
  const shown = more ? found.slice(0, page.limit) : found;
  const last = shown[shown.length - 1];
  return {
    items: shown.map(toItem),
    nextCursor: more && last ? encodeCursor({ startedAt: last.cursorAt, id: last.call.id }) : null,
    total,
  };
}

/**
 * The call a client may resume with its reconnect token: eligible, not ended, in progress, of this organization.
 * One statement on the partial index over `reconnect_token`.
 */
export async function reconnectableCall(ctx: { db: Db; org: OrgContext }, token: string): Promise<CallListItem | undefined> {
  const [row] = await ctx.db
    .select(itemColumns)
    .from(calls)
    .leftJoin(agents, eq(agents.id, calls.agentId))
    .innerJoin(contacts, eq(contacts.id, calls.contactId))
    .where(
      and(
        eq(calls.reconnectToken, token),
        eq(calls.orgId, ctx.org.id),
        eq(calls.reconnectEligible, true),
        sql`${calls.endedAt} IS NULL`,
        eq(calls.status, "in_progress"),
      ),
    )
    .orderBy(desc(calls.startedAt))
    .limit(1);
  return row ? toItem(row) : undefined;
}

/**
 * Every call matching `filters`, newest first, a page of `pageSize` at a time over the same keyset as the list (one
 * statement a page, no count): what the CSV export streams, holding one page in memory whatever the total.
 */
export async function* allCallPages(ctx: { db: Db; org: OrgContext }, filters: CallListFilters, pageSize: number): AsyncGenerator<CallListItem[]> {
  const where = filterConditions(ctx.org.id, filters);
  let cursor: CallCursor | null = null;
  for (;;) {
    const found = await pageRows(ctx.db, where, cursor, pageSize);
    if (found.length > 0) yield found.map(toItem);
    const last = found[found.length - 1];
    if (found.length < pageSize || !last) return;
    cursor = { startedAt: last.cursorAt, id: last.call.id };
  }
}
