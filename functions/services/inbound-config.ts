import { and, eq, inArray } from "drizzle-orm";
import { agents, inboundConfig, type BusinessHours, type RoutingRule } from "../../drizzle/schema";
import { notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { fetchConfig, invalidateConfig } from "./config-cache";
import type { ServiceContext } from "../context";

type InboundConfigRow = typeof inboundConfig.$inferSelect;

/** Who answers inbound calls: business hours are org-local wall-clock `HH:MM` intervals, `[start, end)`, per weekday. */
export type InboundConfigInput = {
  defaultAgentId: string | null;
  afterHoursAgentId: string | null;
  businessHours: BusinessHours;
  rules: RoutingRule[];
};

export type InboundConfigResource = InboundConfigInput & { orgId: string; updatedAt: string | null };

/** The public shape of the inbound configuration; `updatedAt` is null until the first PUT. */
export function toInboundConfigResource(orgId: string, row: InboundConfigRow | undefined): InboundConfigResource {
  if (!row) return { orgId, defaultAgentId: null, afterHoursAgentId: null, businessHours: {}, rules: [], updatedAt: null };
  return {
    orgId: row.orgId,
    defaultAgentId: row.defaultAgentId,
    afterHoursAgentId: row.afterHoursAgentId,
    businessHours: row.businessHours,
    rules: row.rules,
    updatedAt: iso(row.updatedAt),
  };
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Intervals of each day in start order, so readers (routing) can scan them in order. */
function normalizeHours(hours: BusinessHours): BusinessHours {
  const out: BusinessHours = {};
  for (const [day, intervals] of Object.entries(hours) as [keyof BusinessHours, { start: string; end: string }[]][])
    out[day] = [...intervals].sort((a, b) => minutes(a.start) - minutes(b.start)).map(({ start, end }) => ({ start, end }));
  return out;
}

/** Replaces the organization's inbound configuration; every agent it names must be the organization's (else 404). */
export async function putInboundConfig(ctx: ServiceContext, input: InboundConfigInput): Promise<InboundConfigResource> {
  const named = [input.defaultAgentId, input.afterHoursAgentId, ...input.rules.map((r) => r.agentId)].filter((id): id is string => id !== null);
  const unique = [...new Set(named)];
  if (unique.length) {
    const found = await ctx.db
      .select({ id: agents.id })
      .from(agents)
      .where(and(eq(agents.orgId, ctx.org.id), inArray(agents.id, unique)));
    if (found.length !== unique.length) throw notFound("Agent");
  }
  const values = {
    defaultAgentId: input.defaultAgentId,
    afterHoursAgentId: input.afterHoursAgentId,
    businessHours: normalizeHours(input.businessHours),
    rules: input.rules.map(({ prefix, agentId }) => ({ prefix, agentId })),
    updatedAt: ctx.clock.now(),
  };
  const [row] = await ctx.db
    .insert(inboundConfig)
    .values({ orgId: ctx.org.id, ...values })
    .onConflictDoUpdate({ target: inboundConfig.orgId, set: values })
    .returning();
  await invalidateConfig(ctx, "inbound-config");
  return toInboundConfigResource(ctx.org.id, row);
}

/**
 * The organization's inbound configuration from the config cache (one statement on a miss). Call routing reads it
 * through here too, so a PUT is seen by the very next routing decision.
 */
export function getInboundConfig(ctx: Pick<ServiceContext, "db" | "cache" | "org">) {
  return fetchConfig(ctx, "inbound-config", async () => {
    const [row] = await ctx.db.select().from(inboundConfig).where(eq(inboundConfig.orgId, ctx.org.id)).limit(1);
    return toInboundConfigResource(ctx.org.id, row);
  });
}
