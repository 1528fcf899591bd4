import { and, eq, getTableColumns, sql } from "drizzle-orm";
import { agents, callExternalIds, callMilestones, callObjections, calls, contacts } from "../../drizzle/schema";
import { rows, type Db } from "../db/database";
import { ApiError, notFound } from "../lib/errors";
import { iso } from "../lib/respond";
import { insertNewCalls, type CallInput } from "./call-ingest";

type CallRow = typeof calls.$inferSelect;
type CallInsert = typeof calls.$inferInsert;

export type { CallInput } from "./call-ingest";

/** The public shape of a call. The reconnect token is a credential and never leaves. */
export function toCallResource(row: CallRow) {
  return {
    id: row.id,
    externalId: row.externalId,
    agentId: row.agentId,
    contactId: row.contactId,
    direction: row.direction,
    status: row.status,
    phoneNumber: row.phoneNumber,
    startedAt: iso(row.startedAt)!,
    endedAt: iso(row.endedAt),
    durationSec: row.durationSec,
    creditsUsed: row.creditsUsed,
    outcome: row.outcome,
    leadScore: row.leadScore,
    reconnectEligible: row.reconnectEligible,
    poolId: row.poolId,
    siteId: row.siteId,
    countryCode: row.countryCode,
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
  };
}
export type CallResource = ReturnType<typeof toCallResource>;

export const REQUIRED_ON_CREATE = ["phoneNumber", "direction", "status"] as const;

/** Columns a write may set, from the fields it was sent (absent fields stay as they are). */
function columnsFrom(input: CallInput): Partial<CallInsert> {
  const out: Partial<CallInsert> = {};
  const copy = <K extends keyof CallInput & keyof CallInsert>(k: K) => {
    if (input[k] !== undefined) (out as Record<string, unknown>)[k] = input[k];
  };
  for (const k of [
    "externalId",
    "agentId",
    "phoneNumber",
    "direction",
    "status",
    "durationSec",
    "creditsUsed",
    "outcome",
    "leadScore",
    "reconnectToken",
    "reconnectEligible",
    "poolId",
    "siteId",
    "countryCode",
  ] as const)
    copy(k);
  if (input.startedAt !== undefined) out.startedAt = new Date(input.startedAt);
  if (input.endedAt !== undefined) out.endedAt = input.endedAt === null ? null : new Date(input.endedAt);
  return out;
}

async function assertAgentInOrg(tx: Db, orgId: string, agentId: string | null | undefined) {
  if (!agentId) return;
  const [row] = await tx
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.orgId, orgId)))
    .limit(1);
  if (!row) throw notFound("Agent");
}

/** Finds or creates the contact for a phone number (unique per organization); a sent name updates it. */
export async function upsertContact(tx: Db, orgId: string, phone: string, name?: string | null) {
  const [row] = await tx
    .insert(contacts)
    .values({ orgId, phone, name: name ?? null })
    .onConflictDoUpdate({
      target: [contacts.orgId, contacts.phone],
      set: { name: sql`COALESCE(EXCLUDED.name, ${contacts.name})` },
    })
    .returning({ id: contacts.id });
  return row!.id;
}

function checkTimes(row: { startedAt: Date; endedAt: Date | null }) {
  if (row.endedAt && row.endedAt < row.startedAt)
    throw new ApiError("validation_failed", "endedAt is before startedAt", { errors: [{ path: "endedAt", message: "must not be before startedAt" }] });
}

/**
 * Creates a call, or — when `externalId` names an existing call of the organization — changes only the fields sent.
 * Answers the call and whether it was created.
 *
 * A new call is one statement (`insertNewCalls`: contact, call and external id together), so a write is one round
 * trip and durable when it answers. Only when that statement inserts nothing (the external id exists, or the agent is
 * not the organization's) or the body lacks what a new call needs does the write take the long way: a transaction
 * serialised per (organization, externalId) by an advisory lock, so concurrent deliveries of one event never create
 * two calls; the statement's own `ON CONFLICT DO NOTHING` on the external id keeps both ways from creating two.
 */
export async function upsertCall(db: Db, orgId: string, input: CallInput, now: Date): Promise<{ call: CallRow; created: boolean }> {
  if (REQUIRED_ON_CREATE.every((k) => input[k] !== undefined)) {
    checkTimes({ startedAt: input.startedAt ? new Date(input.startedAt) : now, endedAt: input.endedAt ? new Date(input.endedAt) : null });
    const call = (await insertNewCalls(db, orgId, [{ index: 0, input }], now)).get(0);
    if (call) return { call, created: true };
  }
  return db.transaction((tx) => upsertCallIn(tx as unknown as Db, orgId, input, now));
}

/** `upsertCall`'s long way, inside the caller's transaction (the batch runs its items that need it one by one). */
export async function upsertCallIn(tx: Db, orgId: string, input: CallInput, now: Date): Promise<{ call: CallRow; created: boolean }> {
  await assertAgentInOrg(tx, orgId, input.agentId);
  if (input.externalId !== undefined) {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${orgId}::text || ':' || ${input.externalId}))`);
    const existing = await externalIdCall(tx, orgId, input.externalId);
    if (existing) return { call: await updateCallIn(tx, orgId, existing, input, now), created: false };
  }
  const missing = REQUIRED_ON_CREATE.filter((k) => input[k] === undefined);
  if (missing.length)
    throw new ApiError("validation_failed", `A new call needs ${missing.join(", ")}`, {
      errors: missing.map((path) => ({ path, message: "is required to create a call" })),
    });
  checkTimes({ startedAt: input.startedAt ? new Date(input.startedAt) : now, endedAt: input.endedAt ? new Date(input.endedAt) : null });
  const call = (await insertNewCalls(tx, orgId, [{ index: 0, input }], now)).get(0);
  if (call) return { call, created: true };
  // the external id was committed by a one-statement write after the lookup (it waited for it): an update now
  const existing = await externalIdCall(tx, orgId, input.externalId!);
  if (!existing) throw new Error("a call insert admitted nothing, yet its external id is not there");
  return { call: await updateCallIn(tx, orgId, existing, input, now), created: false };
}

async function externalIdCall(tx: Db, orgId: string, externalId: string): Promise<string | undefined> {
  const [existing] = await tx
    .select({ callId: callExternalIds.callId })
    .from(callExternalIds)
    .where(and(eq(callExternalIds.orgId, orgId), eq(callExternalIds.externalId, externalId)))
    .limit(1);
  return existing?.callId;
}

async function updateCallIn(tx: Db, orgId: string, callId: string, input: CallInput, now: Date): Promise<CallRow> {
  const [current] = await tx
    .select()
    .from(calls)
    .where(and(eq(calls.id, callId), eq(calls.orgId, orgId)))
    .limit(1);
  if (!current) throw notFound("Call");
  const set: Partial<CallInsert> = { ...columnsFrom(input), updatedAt: now };
  delete set.externalId;
  if (input.phoneNumber !== undefined && input.phoneNumber !== current.phoneNumber)
    set.contactId = await upsertContact(tx, orgId, input.phoneNumber, input.contactName);
  else if (input.contactName !== undefined)
    await tx
      .update(contacts)
      .set({ name: input.contactName })
      .where(and(eq(contacts.id, current.contactId), eq(contacts.orgId, orgId)));
  checkTimes({ startedAt: set.startedAt ?? current.startedAt, endedAt: set.endedAt === undefined ? current.endedAt : set.endedAt });
  const [call] = await tx
    .update(calls)
    .set(set)
    .where(and(eq(calls.id, callId), eq(calls.orgId, orgId)))
    .returning();
  // a call moved in time carries its external id (and analysis rows) along: the foreign keys' ON UPDATE CASCADE (0005)
  return call!;
}

/** Changes only the fields sent; another organization's call answers 404. */
export async function patchCall(db: Db, orgId: string, callId: string, input: CallInput, now: Date): Promise<CallRow> {
  return db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    await assertAgentInOrg(tx, orgId, input.agentId);
    return updateCallIn(tx, orgId, callId, input, now);
  });
}

export type CallAnalysis = {
  leadScore: number | null;
  milestones: { key: string; achieved: boolean }[];
  objections: { kind: string; handled: boolean }[];
};

/** Replaces a call's AI analysis (score, milestones, objections) in one transaction. */
export async function putCallAnalysis(db: Db, orgId: string, callId: string, analysis: CallAnalysis, now: Date) {
  return db.transaction(async (txx) => {
    const tx = txx as unknown as Db;
    const [updated] = await tx
      .update(calls)
      .set({ leadScore: analysis.leadScore, updatedAt: now })
      .where(and(eq(calls.id, callId), eq(calls.orgId, orgId)))
      // the rest of the call's key as text: started_at may hold microseconds a JavaScript Date would drop
      .returning({ ...getTableColumns(calls), startedAtKey: sql<string>`${calls.startedAt}::text` });
    if (!updated) throw notFound("Call");
    const { startedAtKey, ...call } = updated;
    const callStartedAt = sql`${startedAtKey}::timestamptz`;
    await tx.delete(callMilestones).where(and(eq(callMilestones.callId, callId), eq(callMilestones.orgId, orgId)));
    await tx.delete(callObjections).where(and(eq(callObjections.callId, callId), eq(callObjections.orgId, orgId)));
    if (analysis.milestones.length)
      await tx.insert(callMilestones).values(analysis.milestones.map((m) => ({ callId, callStartedAt, orgId, key: m.key, achieved: m.achieved })));
    if (analysis.objections.length)
      await tx.insert(callObjections).values(analysis.objections.map((o) => ({ callId, callStartedAt, orgId, kind: o.kind, handled: o.handled })));
    return { call, ...analysis };
  });
}

/** The call an external id names in the organization, if any: one statement. */
export async function findCallByExternalId(db: Db, orgId: string, externalId: string): Promise<CallRow | undefined> {
  const [row] = await db
    .select({ call: calls })
    .from(callExternalIds)
    .innerJoin(calls, and(eq(calls.id, callExternalIds.callId), eq(calls.orgId, callExternalIds.orgId), eq(calls.startedAt, callExternalIds.startedAt)))
    .where(and(eq(callExternalIds.orgId, orgId), eq(callExternalIds.externalId, externalId)))
    .limit(1);
  return row?.call;
}

/** One call with its agent, contact and analysis: two statements. */
export async function getCall(db: Db, orgId: string, callId: string) {
  const [row] = await db
    .select({ call: calls, agent: { id: agents.id, name: agents.name }, contact: { id: contacts.id, name: contacts.name, phone: contacts.phone } })
    .from(calls)
    .leftJoin(agents, eq(agents.id, calls.agentId))
    .innerJoin(contacts, eq(contacts.id, calls.contactId))
    .where(and(eq(calls.id, callId), eq(calls.orgId, orgId)))
    .limit(1);
  if (!row) return undefined;
  const items = await rows<{ type: string; name: string; flag: boolean }>(
    db,
    sql`
    SELECT 'milestone' AS type, key AS name, achieved AS flag FROM call_milestones WHERE call_id = ${callId} AND org_id = ${orgId}
    UNION ALL
    SELECT 'objection', kind, handled FROM call_objections WHERE call_id = ${callId} AND org_id = ${orgId}
    ORDER BY 1, 2`,
  );
  return {
    ...toCallResource(row.call),
    agent: row.agent?.id ? row.agent : null,
    contact: row.contact,
    milestones: items.filter((i) => i.type === "milestone").map((i) => ({ key: i.name, achieved: i.flag })),
    objections: items.filter((i) => i.type === "objection").map((i) => ({ kind: i.name, handled: i.flag })),
  };
}
