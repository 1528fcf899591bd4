import { createHmac } from "node:crypto";
import postgres from "postgres";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { body } from "../support/app";
import { testDbKind } from "../support/database";
import { useTestApp } from "../support/use-test-app";

/**
 * Issue #18, item 4: an id is lower-cased when it is parsed, so every spelling of one id reads and writes the same
 * resource, moves the same cache entries and takes the same advisory lock.
 */

const t = useTestApp();

const sign = (secret: string, raw: string, timestamp = Math.floor(Date.now() / 1000)) =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;

async function orgWithSecret() {
  const org = await t.createOrg();
  const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
  const res = await t.request("PATCH", "/api/settings", { key: org.writeKey, body: { webhookSecret: secret } });
  expect(res.status, await res.clone().text()).toBe(200);
  return { ...org, secret };
}

const deliver = (orgId: string, secret: string, event: Record<string, unknown>) => {
  const raw = JSON.stringify(event);
  return t.request("POST", `/api/webhooks/voice/${orgId}`, { key: null, rawBody: raw, headers: { "tally-signature": sign(secret, raw) } });
};

const callEvent = (extra: Record<string, unknown> = {}) => ({
  externalId: `evt-${crypto.randomUUID()}`,
  phoneNumber: "+14155550142",
  direction: "inbound",
  status: "completed",
  startedAt: new Date(Date.now() - 60_000).toISOString(),
  ...extra,
});

describe("ids in any case", () => {
  it("reads and changes the same call through an upper-case spelling of its id", async () => {
    const o = await orgWithSecret();
    const created = await body(await deliver(o.orgId, o.secret, callEvent()));
    const id = created.data.id as string;
    const patched = await t.request("PATCH", `/api/calls/${id.toUpperCase()}`, { key: o.writeKey, body: { creditsUsed: 7 } });
    const patchedJson = await body(patched);
    expect(patched.status, JSON.stringify(patchedJson)).toBe(200);
    expect(patchedJson.data.id).toBe(id);
    const read = await body(await t.request("GET", `/api/calls/${id.toUpperCase()}`, { key: o.readKey }));
    expect(read.data).toMatchObject({ id, creditsUsed: 7 });
  });

  it("answers ids in lower case when they were sent in upper case (a body's ids are parsed the same way)", async () => {
    const o = await orgWithSecret();
    const agent = await body(await t.request("POST", "/api/agents", { key: o.writeKey, body: { name: "Upper" } }));
    const session = await t.request("POST", "/api/agent-sessions", { key: o.writeKey, body: { agentId: (agent.data.id as string).toUpperCase() } });
    const json = await body(session);
    expect(session.status, JSON.stringify(json)).toBe(201);
    expect(json.data.agentId).toBe(agent.data.id);
  });

  it("invalidates the organization's cached aggregates when the webhook names it in upper case", async () => {
    const o = await orgWithSecret();
    const overview = async () => body(await t.request("GET", "/api/dashboard/overview?days=1", { key: o.readKey }));
    const before = await overview();
    expect((await overview()).meta.cache, "the second read is cached").toBe("hit");
    const res = await deliver(o.orgId.toUpperCase(), o.secret, callEvent());
    expect(res.status, await res.clone().text()).toBe(201);
    const after = await overview();
    expect(after.meta.cache, JSON.stringify(after.meta)).not.toBe("hit");
    expect(JSON.stringify(after.data)).not.toBe(JSON.stringify(before.data));
  });

  it("keeps one call for one event delivered concurrently under two spellings of the organization's id", async () => {
    const o = await orgWithSecret();
    const event = callEvent();
    const answers = await Promise.all([
      deliver(o.orgId, o.secret, event),
      deliver(o.orgId.toUpperCase(), o.secret, { ...event, durationSec: 5 }),
      deliver(o.orgId, o.secret, { ...event, durationSec: 6 }),
      deliver(o.orgId.toUpperCase(), o.secret, { ...event, durationSec: 7 }),
    ]);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(await Promise.all(answers.map((r) => r.text())))).toEqual([200, 200, 200, 201]);
    const [count] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${o.orgId}`);
    expect(count!.n).toBe(1);
  });

  // PGlite is one session, where advisory locks are re-entrant: only a second connection can hold one against the app
  it.skipIf(testDbKind() !== "postgres")("takes the same advisory lock for an upper-case spelling of the organization's id", async () => {
    const o = await orgWithSecret();
    const event = callEvent();
    // a new call is one statement and takes no lock (its external id's ON CONFLICT decides); a change to an existing
    // call is the locked way, so the event is delivered once first and its change is what must wait
    expect((await deliver(o.orgId, o.secret, event)).status).toBe(201);
    const holder = postgres(t.database.url!, { max: 1, onnotice: () => {} });
    try {
      await holder`SELECT pg_advisory_lock(hashtext(${`${o.orgId}:${event.externalId}`}))`;
      let settled = false;
      const pending = deliver(o.orgId.toUpperCase(), o.secret, { ...event, durationSec: 9 }).then((r) => {
        settled = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(settled, "the upper-case delivery did not wait for the lock of the lower-case id").toBe(false);
      await holder`SELECT pg_advisory_unlock(hashtext(${`${o.orgId}:${event.externalId}`}))`;
      const res = await pending;
      expect(res.status, await res.clone().text()).toBe(200);
    } finally {
      await holder.end();
    }
  });
});
