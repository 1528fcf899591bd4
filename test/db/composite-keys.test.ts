import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { body } from "../support/app";
import { useTestApp } from "../support/use-test-app";

/**
 * Issue #18, item 6: every organization's table has (org_id, id) unique and every reference is a composite foreign
 * key (org_id, x_id) → (org_id, id) (migration 0004), so the database itself refuses a cross-organization link that a
 * write path forgot to check; the ON DELETE behaviour stays as it was. Migrations 0004 and 0005 on a populated
 * database, and the references to calls (0005): test/db/migrate.test.ts.
 */

const t = useTestApp({ rateLimit: false });

async function world() {
  const org = await t.createOrg();
  const agent = await body(await t.request("POST", "/api/agents", { key: org.writeKey, body: { name: "Ava" } }));
  const service = await body(await t.request("POST", "/api/services", { key: org.writeKey, body: { name: "Cleaning", priceCents: 100 } }));
  const call = await body(
    await t.request("POST", "/api/calls", {
      key: org.writeKey,
      body: { phoneNumber: "+14155550123", direction: "inbound", status: "completed", agentId: agent.data.id },
    }),
  );
  const session = await body(await t.request("POST", "/api/agent-sessions", { key: org.writeKey, body: { agentId: agent.data.id } }));
  const appointment = await body(
    await t.request("POST", "/api/appointments", {
      key: org.writeKey,
      body: { contactId: call.data.contactId, serviceId: service.data.id, scheduledAt: "2031-05-01T10:00:00Z" },
    }),
  );
  return {
    ...org,
    agentId: agent.data.id as string,
    serviceId: service.data.id as string,
    callId: call.data.id as string,
    contactId: call.data.contactId as string,
    sessionId: session.data.id as string,
    appointmentId: appointment.data.id as string,
  };
}

/** The error a statement raised (its SQLSTATE and constraint), or null when it succeeded. */
async function failure(statement: ReturnType<typeof sql>): Promise<{ code?: string; message: string } | null> {
  try {
    await t.database.db.execute(statement);
    return null;
  } catch (error) {
    const e = (error as { cause?: { code?: string; message?: string } }).cause ?? (error as { code?: string; message?: string });
    return { code: e.code, message: String(e.message ?? error) };
  }
}

describe("composite organization keys", () => {
  it("refuses in the database itself every link from one organization's row to another's", async () => {
    const a = await world();
    const b = await world();
    const links = [
      sql`UPDATE calls SET agent_id = ${b.agentId} WHERE id = ${a.callId}`,
      sql`UPDATE calls SET contact_id = ${b.contactId} WHERE id = ${a.callId}`,
      sql`UPDATE agent_sessions SET agent_id = ${b.agentId} WHERE id = ${a.sessionId}`,
      sql`UPDATE appointments SET contact_id = ${b.contactId} WHERE id = ${a.appointmentId}`,
      sql`UPDATE appointments SET service_id = ${b.serviceId} WHERE id = ${a.appointmentId}`,
      sql`INSERT INTO inbound_config (org_id, default_agent_id) VALUES (${a.orgId}, ${b.agentId})
          ON CONFLICT (org_id) DO UPDATE SET default_agent_id = EXCLUDED.default_agent_id`,
      sql`INSERT INTO inbound_config (org_id, after_hours_agent_id) VALUES (${a.orgId}, ${b.agentId})
          ON CONFLICT (org_id) DO UPDATE SET after_hours_agent_id = EXCLUDED.after_hours_agent_id`,
    ];
    for (const link of links) {
      const refused = await failure(link);
      expect(refused, "a cross-organization link was stored").not.toBeNull();
      expect(refused!.code, refused!.message).toBe("23503");
    }
    // the same links inside one organization are fine
    expect(await failure(sql`UPDATE calls SET agent_id = ${a.agentId} WHERE id = ${a.callId}`)).toBeNull();
  });

  it("keeps the ON DELETE behaviour: an agent's deletion empties its calls' agent and removes its sessions; an organization's removes all", async () => {
    const a = await world();
    expect(await failure(sql`DELETE FROM agents WHERE id = ${a.agentId}`)).toBeNull();
    const [call] = await rows<{ agent_id: string | null }>(t.database.db, sql`SELECT agent_id FROM calls WHERE id = ${a.callId}`);
    expect(call).toEqual({ agent_id: null });
    const [sessions] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM agent_sessions WHERE id = ${a.sessionId}`);
    expect(sessions!.n).toBe(0);
    const b = await world();
    expect(await failure(sql`DELETE FROM organizations WHERE id = ${b.orgId}`)).toBeNull();
  });

  it("indexes the call id of every foreign key to calls, so a delete, a move in time or retention never scans", async () => {
    // an ON DELETE / ON UPDATE action looks up the referencing rows by the key's columns; without an index that leads
    // with the column naming the call's id (unique on its own), each deleted or moved call reads the whole referencing
    // table (10k deletes took 512 s at 1M calls before call_external_ids and appointments had one)
    const unindexed = await rows<{ constraint: string }>(
      t.database.db,
      sql`
        SELECT c.conname AS constraint
        FROM pg_constraint AS c
        WHERE c.contype = 'f' AND c.confrelid = 'calls'::regclass AND c.conparentid = 0
          AND NOT EXISTS (
            SELECT 1 FROM pg_index AS i
            WHERE i.indrelid = c.conrelid
              AND i.indkey[0] = c.conkey[array_position(c.confkey, (SELECT attnum FROM pg_attribute WHERE attrelid = 'calls'::regclass AND attname = 'id'))]
          )
        ORDER BY 1
      `,
    );
    expect(unindexed.map((r) => r.constraint)).toEqual([]);
  });
});
