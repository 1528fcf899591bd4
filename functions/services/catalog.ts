/**
 * The organization's catalog: the bookable services an appointment is for, and their prices. (Called `catalog` in
 * code so that "service" stays the name of a layer; the HTTP routes, the table and the JSON keep `services`.)
 */
import { and, asc, eq } from "drizzle-orm";
import { catalogItems } from "../../drizzle/schema";
import { notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { fetchConfig, invalidateConfig } from "./config-cache";
import type { ServiceContext } from "../context";

type CatalogItemRow = typeof catalogItems.$inferSelect;

/** The public shape of a catalog item (what an appointment is for, and its price). */
export function toCatalogItemResource(row: CatalogItemRow) {
  return { id: row.id, name: row.name, priceCents: row.priceCents, createdAt: iso(row.createdAt)!, updatedAt: iso(row.updatedAt)! };
}

/**
 * After any catalog write: the cached list is dropped, and the organization's aggregates move on too, since
 * pipelineValueCents prices appointments by their service.
 */
async function afterWrite(ctx: ServiceContext) {
  await invalidateConfig(ctx, "services");
  await ctx.cache.invalidateOrg(ctx.org.id);
}

/** Creates a catalog item (a bookable service) of the organization. */
export async function createCatalogItem(ctx: ServiceContext, input: { name: string; priceCents: number }): Promise<CatalogItemRow> {
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(catalogItems)
    .values({ ...input, orgId: ctx.org.id, createdAt: now, updatedAt: now })
    .returning();
  await afterWrite(ctx);
  return row!;
}

/** Changes only the fields sent; another organization's item answers 404. */
export async function updateCatalogItem(ctx: ServiceContext, serviceId: string, input: { name?: string; priceCents?: number }): Promise<CatalogItemRow> {
  const [row] = await ctx.db
    .update(catalogItems)
    .set({ ...input, updatedAt: ctx.clock.now() })
    .where(and(eq(catalogItems.id, serviceId), eq(catalogItems.orgId, ctx.org.id)))
    .returning();
  if (!row) throw notFound("Service");
  await afterWrite(ctx);
  return row;
}

/** Deletes a catalog item; its appointments stay, with serviceId set to null by the foreign key. */
export async function deleteCatalogItem(ctx: ServiceContext, serviceId: string): Promise<void> {
  const [row] = await ctx.db
    .delete(catalogItems)
    .where(and(eq(catalogItems.id, serviceId), eq(catalogItems.orgId, ctx.org.id)))
    .returning({ id: catalogItems.id });
  if (!row) throw notFound("Service");
  await afterWrite(ctx);
}

/** Every catalog item of the organization by name, served from the config cache (one statement on a miss). */
export function listCatalog(ctx: ServiceContext) {
  return fetchConfig(ctx, "services", async () => {
    const list = await ctx.db.select().from(catalogItems).where(eq(catalogItems.orgId, ctx.org.id)).orderBy(asc(catalogItems.name), asc(catalogItems.id));
    return list.map(toCatalogItemResource);
  });
}
