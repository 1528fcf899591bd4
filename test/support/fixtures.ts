import fc from "fast-check";
import { agentSessions, agents, appointments, callMilestones, callObjections, calls, contacts, catalogItems } from "../../drizzle/schema";
import { type AGENT_KINDS, type AGENT_STATUSES, CALL_DIRECTIONS, CALL_OUTCOMES, CALL_STATUSES } from "../../drizzle/schema/enums";
import type { Db } from "../../functions/db/database";

/**
 * Direct inserts for read-model tests: rows go straight into the tables (the write API is tested on its own),
 * so a test can build any shape of organization quickly. Every helper takes the org id explicitly.
 */

export type AgentSeed = {
  name: string;
  kind?: (typeof AGENT_KINDS)[number];
  status?: (typeof AGENT_STATUSES)[number];
  voiceAgentId?: string | null;
  userId?: string | null;
};

export async function insertAgents(db: Db, orgId: string, seeds: AgentSeed[]): Promise<{ id: string; name: string }[]> {
  if (!seeds.length) return [];
  return db
    .insert(agents)
    .values(
      seeds.map((s) => ({
        orgId,
        name: s.name,
        kind: s.kind ?? "ai",
        status: s.status ?? "active",
        voiceAgentId: s.voiceAgentId ?? null,
        userId: s.userId ?? null,
      })),
    )
    .returning({ id: agents.id, name: agents.name });
}

export async function insertContacts(db: Db, orgId: string, phones: string[]): Promise<{ id: string; phone: string }[]> {
  if (!phones.length) return [];
  return db
    .insert(contacts)
    .values(phones.map((phone, i) => ({ orgId, phone, name: `Contact ${i}` })))
    .returning({ id: contacts.id, phone: contacts.phone });
}

export type CallSeed = {
  agentId?: string | null;
  contactIndex?: number;
  direction?: (typeof CALL_DIRECTIONS)[number];
  status?: (typeof CALL_STATUSES)[number];
  startedAt: Date;
  endedAt?: Date | null;
  durationSec?: number | null;
  creditsUsed?: number;
  outcome?: (typeof CALL_OUTCOMES)[number] | null;
  leadScore?: number | null;
  reconnectToken?: string | null;
  reconnectEligible?: boolean;
  milestones?: { key: string; achieved: boolean }[];
  objections?: { kind: string; handled: boolean }[];
};

/** Inserts calls (and their analysis rows) in batches; contacts are created as needed (`contactIndex` picks one). */
export async function insertCalls(db: Db, orgId: string, seeds: CallSeed[]): Promise<{ id: string }[]> {
  if (!seeds.length) return [];
  const contactCount = Math.max(1, ...seeds.map((s) => (s.contactIndex ?? 0) + 1));
  const phones = Array.from({ length: contactCount }, (_, i) => `+1415555${String(i).padStart(4, "0")}`);
  const contactRows = await insertContacts(db, orgId, phones);
  const out: { id: string }[] = [];
  for (let i = 0; i < seeds.length; i += 500) {
    const batch = seeds.slice(i, i + 500);
    const inserted = await db
      .insert(calls)
      .values(
        batch.map((s) => {
          const contact = contactRows[s.contactIndex ?? 0]!;
          return {
            orgId,
            agentId: s.agentId ?? null,
            contactId: contact.id,
            direction: s.direction ?? "inbound",
            status: s.status ?? "completed",
            phoneNumber: contact.phone,
            startedAt: s.startedAt,
            endedAt: s.endedAt ?? null,
            durationSec: s.durationSec ?? null,
            creditsUsed: s.creditsUsed ?? 0,
            outcome: s.outcome ?? null,
            leadScore: s.leadScore ?? null,
            reconnectToken: s.reconnectToken ?? null,
            reconnectEligible: s.reconnectEligible ?? false,
          };
        }),
      )
      .returning({ id: calls.id });
    // seeds' times are whole milliseconds, so a Date holds the call's key exactly
    const key = (j: number) => ({ callId: inserted[j]!.id, callStartedAt: batch[j]!.startedAt, orgId });
    const milestones = batch.flatMap((s, j) => (s.milestones ?? []).map((m) => ({ ...key(j), ...m })));
    const objections = batch.flatMap((s, j) => (s.objections ?? []).map((o) => ({ ...key(j), ...o })));
    if (milestones.length) await db.insert(callMilestones).values(milestones);
    if (objections.length) await db.insert(callObjections).values(objections);
    out.push(...inserted);
  }
  return out;
}

export async function insertSessions(db: Db, orgId: string, seeds: { agentId: string; startedAt: Date; endedAt: Date | null }[]) {
  if (!seeds.length) return [];
  return db
    .insert(agentSessions)
    .values(seeds.map((s) => ({ orgId, ...s })))
    .returning({ id: agentSessions.id });
}

export async function insertServiceWithAppointments(
  db: Db,
  orgId: string,
  priceCents: number,
  appts: { scheduledAt: Date; status: "scheduled" | "completed" | "cancelled" | "no_show" }[],
) {
  const [service] = await db
    .insert(catalogItems)
    .values({ orgId, name: `Service ${priceCents}`, priceCents })
    .returning({ id: catalogItems.id });
  const [contact] = await insertContacts(db, orgId, [`+1415666${String(Math.floor(Math.random() * 10000)).padStart(4, "0")}`]);
  if (appts.length)
    await db
      .insert(appointments)
      .values(appts.map((a) => ({ orgId, contactId: contact!.id, serviceId: service!.id, scheduledAt: a.scheduledAt, status: a.status })));
  return service!.id;
}

/**
 * An arbitrary call around `now` (within `spanDays` before it, a few in the future never), with the edge cases the
 * metric definitions care about: no agent, no score, scores at 39/40/69/70, every status and outcome, analysis rows.
 */
export function arbitraryCall(now: Date, spanDays: number, agentCount: number): fc.Arbitrary<CallSeed> {
  return fc
    .record({
      agentIndex: fc.option(fc.integer({ min: 0, max: Math.max(0, agentCount - 1) }), { nil: null, freq: 5 }),
      contactIndex: fc.integer({ min: 0, max: 5 }),
      direction: fc.constantFrom(...CALL_DIRECTIONS),
      status: fc.constantFrom(...CALL_STATUSES, "completed", "completed"),
      offsetSec: fc.integer({ min: 1, max: spanDays * 86400 }),
      durationSec: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: null, freq: 6 }),
      creditsUsed: fc.integer({ min: 0, max: 50 }),
      outcome: fc.option(fc.constantFrom(...CALL_OUTCOMES), { nil: null, freq: 3 }),
      leadScore: fc.option(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(39, 40, 69, 70)), { nil: null, freq: 3 }),
      milestones: fc.array(fc.record({ key: fc.constantFrom("greeting", "discovery", "booking"), achieved: fc.boolean() }), { maxLength: 3 }),
      objections: fc.array(fc.record({ kind: fc.constantFrom("price", "timing", "trust"), handled: fc.boolean() }), { maxLength: 2 }),
    })
    .map((r) => {
      const milestones = [...new Map(r.milestones.map((m) => [m.key, m])).values()];
      return {
        agentId: r.agentIndex === null ? null : `__agent_${r.agentIndex}`,
        contactIndex: r.contactIndex,
        direction: r.direction,
        status: r.status,
        startedAt: new Date(now.getTime() - r.offsetSec * 1000),
        durationSec: r.durationSec,
        creditsUsed: r.creditsUsed,
        outcome: r.outcome,
        leadScore: r.leadScore,
        milestones,
        objections: r.objections,
      };
    });
}

/** Replaces the `__agent_<i>` placeholders of arbitraryCall with real agent ids. */
export function bindAgents(seeds: CallSeed[], agentIds: string[]): CallSeed[] {
  return seeds.map((s) => {
    const m = typeof s.agentId === "string" ? /^__agent_(\d+)$/.exec(s.agentId) : null;
    return m ? { ...s, agentId: agentIds[Number(m[1])] ?? null } : s;
  });
}

/** Inserts agents, then calls whose `__agent_<i>` placeholders (arbitraryCall) name them; answers the agents. */
export async function insertAgentsWithCalls(db: Db, orgId: string, agentSeeds: AgentSeed[], callSeeds: CallSeed[]): Promise<{ id: string; name: string }[]> {
  const agents = await insertAgents(db, orgId, agentSeeds);
  await insertCalls(
    db,
    orgId,
    bindAgents(
      callSeeds,
      agents.map((a) => a.id),
    ),
  );
  return agents;
}
