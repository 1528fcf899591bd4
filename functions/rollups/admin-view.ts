import { sql } from "drizzle-orm";
import { firstRow, rows, type Db } from "../db/database";
import { instantText } from "./refresh";

/**
 * The platform admin's organizations view (SPEC §5 `GET /api/admin/organizations`), served from the materialized
 * view admin_org_kpis_30d (sql/020_rollups_admin_view.sql), which the refresh-admin-view job refreshes CONCURRENTLY.
 */

/** The numeric fields the list sorts by (descending), and their columns in the view. */
export const ORGANIZATION_KPI_SORTS = {
  calls30d: "calls_30d",
  completed30d: "completed_30d",
  leads30d: "leads_30d",
  qualified30d: "qualified_30d",
  creditsUsed30d: "credits_used_30d",
} as const;
export type OrganizationKpiSort = keyof typeof ORGANIZATION_KPI_SORTS;

export type OrganizationKpis = {
  id: string;
  name: string;
  timezone: string;
  calls30d: number;
  completed30d: number;
  leads30d: number;
  qualified30d: number;
  creditsUsed30d: number;
};

/** Statement timeout of the view refresh: a full pass over 30 days of rollups for every organization. */
const ADMIN_VIEW_STATEMENT_TIMEOUT_MS = 120_000;

/**
 * Refreshes the view for the instant `asOf`, in one transaction: the window end is set, the view recomputed
 * CONCURRENTLY (readers keep the previous rows meanwhile; works inside a transaction block on PGlite, Postgres and
 * Neon), and the refresh time recorded. Two at once serialise on the state row.
 */
export async function refreshAdminView(db: Db, asOf: Date, refreshedAt: () => Date = () => asOf) {
  const started = performance.now();
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(sql`SELECT set_config('statement_timeout', ${String(ADMIN_VIEW_STATEMENT_TIMEOUT_MS)}, true)`);
    await t.execute(sql`UPDATE admin_view_state SET as_of = ${asOf.toISOString()}::timestamptz WHERE id = 1`);
    await t.execute(sql`REFRESH MATERIALIZED VIEW CONCURRENTLY admin_org_kpis_30d`);
    const durationMs = Math.round(performance.now() - started);
    await t.execute(sql`UPDATE admin_view_state SET refreshed_at = ${refreshedAt().toISOString()}::timestamptz, duration_ms = ${durationMs} WHERE id = 1`);
    const [count] = await rows<{ n: number }>(t, sql`SELECT count(*)::int AS n FROM admin_org_kpis_30d`);
    return { rowsRead: count?.n ?? 0, rowsWritten: count?.n ?? 0, organizations: count?.n ?? 0, asOf: asOf.toISOString() };
  });
}

type KpiRow = {
  id: string;
  name: string;
  timezone: string;
  calls_30d: number;
  completed_30d: number;
  leads_30d: number;
  qualified_30d: number;
  credits_used_30d: number;
};

/**
 * Every organization of the view sorted by `sort` descending (ties by name, id), and the instant the view is exact
 * for. One statement: the rows and the view's as-of come from one snapshot.
 */
export async function listOrganizationKpis(db: Db, sort: OrganizationKpiSort): Promise<{ asOf: string; organizations: OrganizationKpis[] }> {
  const column = sql.raw(ORGANIZATION_KPI_SORTS[sort]);
  const row = await firstRow<{ as_of: unknown; items: KpiRow[] | string }>(
    db,
    sql`SELECT coalesce((SELECT v.as_of FROM admin_org_kpis_30d v LIMIT 1), (SELECT s.as_of FROM admin_view_state s WHERE s.id = 1)) AS as_of,
               (SELECT coalesce(json_agg(json_build_object(
                         'id', v.id, 'name', v.name, 'timezone', v.timezone,
                         'calls_30d', v.calls_30d, 'completed_30d', v.completed_30d, 'leads_30d', v.leads_30d,
                         'qualified_30d', v.qualified_30d, 'credits_used_30d', v.credits_used_30d)
                       ORDER BY v.${column} DESC, v.name, v.id), '[]'::json)
                  FROM admin_org_kpis_30d v) AS items`,
  );
  const items = typeof row!.items === "string" ? (JSON.parse(row!.items) as KpiRow[]) : row!.items;
  return {
    asOf: instantText(row!.as_of),
    organizations: items.map((r) => ({
      id: r.id,
      name: r.name,
      timezone: r.timezone,
      calls30d: Number(r.calls_30d),
      completed30d: Number(r.completed_30d),
      leads30d: Number(r.leads_30d),
      qualified30d: Number(r.qualified_30d),
      creditsUsed30d: Number(r.credits_used_30d),
    })),
  };
}
