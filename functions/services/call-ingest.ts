import type { calls } from "../../drizzle/schema";
import { preparedRows, type Db } from "../db/database";
import { uuidv7 } from "../lib/uuid";

export type CallRow = typeof calls.$inferSelect;
type CallInsert = typeof calls.$inferInsert;

/** The fields a client may send for a call (camelCase of the columns); `contactName` names the contact. */
export type CallInput = Partial<{
  externalId: string;
  agentId: string | null;
  phoneNumber: string;
  contactName: string | null;
  direction: CallInsert["direction"];
  status: CallInsert["status"];
  startedAt: string;
  endedAt: string | null;
  durationSec: number | null;
  creditsUsed: number;
  outcome: CallInsert["outcome"] | null;
  leadScore: number | null;
  reconnectToken: string | null;
  reconnectEligible: boolean;
  poolId: string | null;
  siteId: string | null;
  countryCode: string | null;
}>;

/**
 * New calls in one statement (issue #15): the contacts' upsert, the calls and their external ids, from one jsonb
 * parameter, whatever the number of calls. An item whose `externalId` the organization already holds (or another
 * writer holds uncommitted: the insert waits for it) inserts nothing, nor does one whose agent is not the
 * organization's: the caller takes those the long way (`upsertCall`). Answers the inserted calls by their item index.
 *
 * The external id row goes in with `ON CONFLICT DO NOTHING`, in the same statement as its call (foreign keys are
 * checked at the statement's end), so two concurrent deliveries of one event create one call: the second waits on the
 * first's unique key and then inserts nothing. A contact named by several items takes the last name sent, as items
 * applied in order would leave it. Every call's id is chosen here, so each comes back to its item; ids of new calls and
 * contacts are time-ordered (`uuidv7`), so their index entries go to the indexes' rightmost pages, not random ones.
 */
export async function insertNewCalls(db: Db, orgId: string, items: readonly { index: number; input: CallInput }[], now: Date): Promise<Map<number, CallRow>> {
  const inserted = await preparedRows<RawCall & { idx: number }>(db, "tally_new_calls", NEW_CALLS_ANSWERING_ROWS, newCallsParameters(orgId, items, now));
  return new Map(inserted.map((r) => [Number(r.idx), callRowOf(r)]));
}

/**
 * `insertNewCalls` answering only each inserted call's id by item index: what the batch route answers. The statement
 * sends back and the driver parses two columns a call instead of twenty-two (issue #15 item 3).
 */
export async function insertNewCallIds(db: Db, orgId: string, items: readonly { index: number; input: CallInput }[], now: Date): Promise<Map<number, string>> {
  const inserted = await preparedRows<{ idx: number; id: string }>(db, "tally_new_call_ids", NEW_CALLS_ANSWERING_IDS, newCallsParameters(orgId, items, now));
  return new Map(inserted.map((r) => [Number(r.idx), r.id]));
}

/** The statement's parameters: $1 the calls (jsonb), $2 the organization, $3 the time of the write. */
function newCallsParameters(orgId: string, items: readonly { index: number; input: CallInput }[], now: Date): unknown[] {
  const payload = items.map(({ index, input }) => ({
    idx: index,
    id: uuidv7(),
    contact_id: uuidv7(),
    external_id: input.externalId ?? null,
    agent_id: input.agentId ?? null,
    phone: input.phoneNumber,
    contact_name: input.contactName ?? null,
    direction: input.direction,
    status: input.status,
    started_at: input.startedAt ?? now.toISOString(),
    ended_at: input.endedAt ?? null,
    duration_sec: input.durationSec ?? null,
    credits_used: input.creditsUsed ?? 0,
    outcome: input.outcome ?? null,
    lead_score: input.leadScore ?? null,
    reconnect_token: input.reconnectToken ?? null,
    reconnect_eligible: input.reconnectEligible ?? false,
    pool_id: input.poolId ?? null,
    site_id: input.siteId ?? null,
    country_code: input.countryCode ?? null,
  }));
  return [JSON.stringify(payload), orgId, now.toISOString()];
}

/** The text of the new-call statement, fixed (only its parameters vary), so that it is prepared once a connection. */
function newCallsText(answer: string): string {
  return `
    WITH input AS (
      SELECT i.* FROM jsonb_to_recordset($1::jsonb) AS i(
        idx int, id uuid, contact_id uuid, external_id text, agent_id uuid, phone text, contact_name text, direction call_direction,
        status call_status, started_at timestamptz, ended_at timestamptz, duration_sec int, credits_used int,
        outcome call_outcome, lead_score smallint, reconnect_token text, reconnect_eligible boolean, pool_id uuid,
        site_id uuid, country_code text)
      WHERE i.agent_id IS NULL OR EXISTS (SELECT 1 FROM agents a WHERE a.org_id = $2::uuid AND a.id = i.agent_id)
    ),
    ext AS (
      INSERT INTO call_external_ids (org_id, external_id, call_id, started_at)
      SELECT $2::uuid, external_id, id, started_at FROM input WHERE external_id IS NOT NULL ORDER BY external_id
      ON CONFLICT (org_id, external_id) DO NOTHING
      RETURNING call_id
    ),
    admitted AS (
      SELECT * FROM input WHERE external_id IS NULL OR id IN (SELECT call_id FROM ext)
    ),
    contact AS (
      INSERT INTO contacts (id, org_id, phone, name)
      SELECT DISTINCT ON (phone) contact_id, $2::uuid, phone, contact_name FROM admitted ORDER BY phone, contact_name IS NULL, idx DESC
      ON CONFLICT (org_id, phone) DO UPDATE SET name = COALESCE(EXCLUDED.name, contacts.name)
      RETURNING id, phone
    ),
    call AS (
      INSERT INTO calls (id, org_id, external_id, agent_id, contact_id, direction, status, phone_number, started_at, ended_at,
                         duration_sec, credits_used, outcome, lead_score, reconnect_token, reconnect_eligible, pool_id, site_id,
                         country_code, created_at, updated_at)
      SELECT a.id, $2::uuid, a.external_id, a.agent_id, c.id, a.direction, a.status, a.phone, a.started_at, a.ended_at,
             a.duration_sec, a.credits_used, a.outcome, a.lead_score, a.reconnect_token, a.reconnect_eligible, a.pool_id, a.site_id,
             a.country_code, $3::timestamptz, $3::timestamptz
        FROM admitted a JOIN contact c ON c.phone = a.phone
      RETURNING *
    )
    ${answer}`;
}

const NEW_CALLS_ANSWERING_IDS = newCallsText("SELECT a.idx, call.id::text FROM call JOIN admitted a ON a.id = call.id");

const NEW_CALLS_ANSWERING_ROWS = newCallsText(`
    SELECT a.idx, call.id::text, call.org_id::text, call.external_id, call.agent_id::text, call.contact_id::text,
           call.direction::text, call.status::text, call.phone_number, to_json(call.started_at) #>> '{}' AS started_at,
           to_json(call.ended_at) #>> '{}' AS ended_at, call.duration_sec, call.credits_used, call.outcome::text,
           call.lead_score::int AS lead_score, call.reconnect_token, call.reconnect_eligible, call.pool_id::text,
           call.site_id::text, call.country_code, to_json(call.created_at) #>> '{}' AS created_at,
           to_json(call.updated_at) #>> '{}' AS updated_at
      FROM call JOIN admitted a ON a.id = call.id`);

type RawCall = {
  id: string;
  org_id: string;
  external_id: string | null;
  agent_id: string | null;
  contact_id: string;
  direction: string;
  status: string;
  phone_number: string;
  started_at: string;
  ended_at: string | null;
  duration_sec: number | null;
  credits_used: number;
  outcome: string | null;
  lead_score: number | null;
  reconnect_token: string | null;
  reconnect_eligible: boolean;
  pool_id: string | null;
  site_id: string | null;
  country_code: string | null;
  created_at: string;
  updated_at: string;
};

const callRowOf = (r: RawCall): CallRow => ({
  id: r.id,
  orgId: r.org_id,
  externalId: r.external_id,
  agentId: r.agent_id,
  contactId: r.contact_id,
  direction: r.direction as CallRow["direction"],
  status: r.status as CallRow["status"],
  phoneNumber: r.phone_number,
  startedAt: new Date(r.started_at),
  endedAt: r.ended_at === null ? null : new Date(r.ended_at),
  durationSec: r.duration_sec === null ? null : Number(r.duration_sec),
  creditsUsed: Number(r.credits_used),
  outcome: r.outcome as CallRow["outcome"],
  leadScore: r.lead_score === null ? null : Number(r.lead_score),
  reconnectToken: r.reconnect_token,
  reconnectEligible: r.reconnect_eligible,
  poolId: r.pool_id,
  siteId: r.site_id,
  countryCode: r.country_code,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});
