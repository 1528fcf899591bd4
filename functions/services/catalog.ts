import { and, asc, eq } from "drizzle-orm";
import { services } from "../../drizzle/schema";
import { notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { fetchConfig, invalidateConfig } from "./config-cache";
import type { ServiceContext } from "../context";

type ServiceRow = typeof services.$inferSelect;

/** The public shape of a bookable service (what an appointment is for, and its price). */
export function toServiceResource(row: ServiceRow) {
  return { id: row.id, name: row.name, priceCents: row.priceCents, createdAt: iso(row.createdAt)!, updatedAt: iso(row.updatedAt)! };
}

/**
 * After any services write: the cached list is dropped, and the organization's aggregates move on too, since
 * pipelineValueCents prices appointments by their service.
 */
async function afterWrite(ctx: ServiceContext) {
  await invalidateConfig(ctx, "services");
  await ctx.cache.invalidateOrg(ctx.org.id);
}

/** Creates a service of the organization. */
export async function createService(ctx: ServiceContext, input: { name: string; priceCents: number }): Promise<ServiceRow> {
  const now = ctx.clock.now();
  const [row] = await ctx.db
    .insert(services)
    .values({ ...input, orgId: ctx.org.id, createdAt: now, updatedAt: now })
    .returning();
  await afterWrite(ctx);
  return row!;
}

/** Changes only the fields sent; another organization's service answers 404. */
export async function updateService(ctx: ServiceContext, serviceId: string, input: { name?: string; priceCents?: number }): Promise<ServiceRow> {
  const [row] = await ctx.db
    .update(services)
    .set({ ...input, updatedAt: ctx.clock.now() })
    .where(and(eq(services.id, serviceId), eq(services.orgId, ctx.org.id)))
    .returning();
  if (!row) throw notFound("Service");
  await afterWrite(ctx);
  return row;
}

/** Deletes a service; its appointments stay, with serviceId set to null by the foreign key. */
export async function deleteService(ctx: ServiceContext, serviceId: string): Promise<void> {
  const [row] = await ctx.db
    .delete(services)
    .where(and(eq(services.id, serviceId), eq(services.orgId, ctx.org.id)))
    .returning({ id: services.id });
  if (!row) throw notFound("Service");
  await afterWrite(ctx);
}

/** Every service of the organization by name, served from the config cache (one statement on a miss). */
export function listServices(ctx: ServiceContext) {
  return fetchConfig(ctx, "services", async () => {
    const list = await ctx.db.select().from(services).where(eq(services.orgId, ctx.org.id)).orderBy(asc(services.name), asc(services.id));
    return list.map(toServiceResource);
  });
}
