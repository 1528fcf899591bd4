import { and, eq } from "drizzle-orm";
import { agentSessions, agents } from "../../drizzle/schema";
import type { Db } from "../db/database";
import { ApiError, notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import type { ServiceContext } from "../context";

type SessionRow = typeof agentSessions.$inferSelect;

/** The public shape of an agent session: `endedAt` is null while the agent is online. */
export function toAgentSessionResource(row: SessionRow) {
  return {
    id: row.id,
    agentId: row.agentId,
    startedAt: iso(row.startedAt)!,
    endedAt: iso(row.endedAt),
    createdAt: iso(row.createdAt)!,
  };
}

function assertEndsAfterStart(startedAt: Date, endedAt: Date | null | undefined) {
  if (endedAt && endedAt < startedAt)
    throw new ApiError("validation_failed", "endedAt is before startedAt", { errors: [{ path: "endedAt", message: "must not be before startedAt" }] });
}

async function assertAgentInOrg(db: Db, orgId: string, agentId: string) {
  const [row] = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.orgId, orgId)))
    .limit(1);
  if (!row) throw notFound("Agent");
}

/** Records an agent going online (startedAt defaults to now), or a whole past session when endedAt is sent. */
export async function createAgentSession(ctx: ServiceContext, input: { agentId: string; startedAt?: string; endedAt?: string | null }): Promise<SessionRow> {
  const now = ctx.clock.now();
  const startedAt = input.startedAt ? new Date(input.startedAt) : now;
  const endedAt = input.endedAt ? new Date(input.endedAt) : null;
  assertEndsAfterStart(startedAt, endedAt);
  await assertAgentInOrg(ctx.db, ctx.org.id, input.agentId);
  const [row] = await ctx.db.insert(agentSessions).values({ orgId: ctx.org.id, agentId: input.agentId, startedAt, endedAt, createdAt: now }).returning();
  await ctx.cache.invalidateOrg(ctx.org.id);
  return row!;
}

/** Ends a session (or corrects its end); an end before the start answers 400, another organization's session 404. */
export async function updateAgentSession(ctx: ServiceContext, sessionId: string, input: { endedAt?: string }): Promise<SessionRow> {
  const scope = and(eq(agentSessions.id, sessionId), eq(agentSessions.orgId, ctx.org.id));
  const row = await ctx.db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const [current] = await tx.select().from(agentSessions).where(scope).limit(1).for("update");
    if (!current) throw notFound("Agent session");
    if (input.endedAt === undefined) return { row: current, changed: false };
    const endedAt = new Date(input.endedAt);
    assertEndsAfterStart(current.startedAt, endedAt);
    const [updated] = await tx.update(agentSessions).set({ endedAt }).where(scope).returning();
    return { row: updated!, changed: true };
  });
  if (row.changed) await ctx.cache.invalidateOrg(ctx.org.id);
  return row.row;
}
