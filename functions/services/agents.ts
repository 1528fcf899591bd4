import { and, eq } from "drizzle-orm";
import { agents, users } from "../../drizzle/schema";
import type { AGENT_KINDS, AGENT_STATUSES } from "../../drizzle/schema/enums";
import type { Db } from "../db/database";
import { ApiError, notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import type { ServiceContext } from "../context";

type AgentRow = typeof agents.$inferSelect;

/** The fields a client may send for an agent (camelCase of the columns). */
export type AgentInput = Partial<{
  name: string;
  kind: (typeof AGENT_KINDS)[number];
  status: (typeof AGENT_STATUSES)[number];
  voiceAgentId: string | null;
  description: string | null;
  userId: string | null;
}>;

/** The public shape of an agent. */
export function toAgentResource(row: AgentRow) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    voiceAgentId: row.voiceAgentId,
    description: row.description,
    userId: row.userId,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}

async function assertUserInOrg(db: Db, orgId: string, userId: string | null | undefined) {
  if (!userId) return;
  const [row] = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), eq(users.orgId, orgId)))
    .limit(1);
  if (!row) throw notFound("User");
}

/** Postgres' unique_violation: on `agents` only `agents_voice_agent_id_unique` can raise it (the id is a random UUID). */
const UNIQUE_VIOLATION = "23505";

function isUniqueViolation(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } })?.cause ?? error;
  return (cause as { code?: unknown })?.code === UNIQUE_VIOLATION;
}

/**
 * Runs an insert or update of an agent, answering 409 when its voice agent id is taken (SPEC §11). The unique index
 * decides, not a read before the write: two organizations claiming one id at once meet at the index, and the loser's
 * statement changes nothing. The detail names no holder, so the answer tells nothing of another organization.
 */
async function claimingVoiceAgentId<T>(voiceAgentId: string | null | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (voiceAgentId && isUniqueViolation(error)) {
      throw new ApiError("conflict", "voiceAgentId is already held by another agent; a voice agent belongs to one agent of one organization", {
        errors: [{ path: "voiceAgentId", message: "is already held by another agent" }],
      });
    }
    throw error;
  }
}

/** Creates an agent of the organization; a userId of another organization answers 404, a taken voiceAgentId 409. */
export async function createAgent(ctx: ServiceContext, input: AgentInput & { name: string }): Promise<AgentRow> {
  const now = ctx.clock.now();
  await assertUserInOrg(ctx.db, ctx.org.id, input.userId);
  const [row] = await claimingVoiceAgentId(input.voiceAgentId, () =>
    ctx.db
      .insert(agents)
      .values({ ...input, orgId: ctx.org.id, createdAt: now, updatedAt: now })
      .returning(),
  );
  await ctx.cache.invalidateOrg(ctx.org.id);
  return row!;
}

/** Changes only the fields sent; another organization's agent or user answers 404, a taken voiceAgentId 409. */
export async function updateAgent(ctx: ServiceContext, agentId: string, input: AgentInput): Promise<AgentRow> {
  await assertUserInOrg(ctx.db, ctx.org.id, input.userId);
  const [row] = await claimingVoiceAgentId(input.voiceAgentId, () =>
    ctx.db
      .update(agents)
      .set({ ...input, updatedAt: ctx.clock.now() })
      .where(and(eq(agents.id, agentId), eq(agents.orgId, ctx.org.id)))
      .returning(),
  );
  if (!row) throw notFound("Agent");
  await ctx.cache.invalidateOrg(ctx.org.id);
  return row;
}
