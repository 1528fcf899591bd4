import { createHash, createHmac } from "node:crypto";
import { eq } from "drizzle-orm";
import { apiKeys, users } from "../../../drizzle/schema";
import { body, type TestApp } from "../app";

/** One organization with one of everything, built through the API (the user directly: no route creates users). */
export type OrgWorld = {
  label: string;
  orgId: string;
  writeKey: string;
  writeKeyId: string;
  readKey: string;
  webhookSecret: string;
  userId: string;
  agentId: string;
  /** the voice agent id of `agentId` (SPEC §11: no other organization's agent may take it) */
  voiceAgentId: string;
  otherAgentId: string;
  callId: string;
  callExternalId: string;
  reconnectToken: string;
  contactId: string;
  /** the same number in every organization: lists by phone must still answer only the caller's calls */
  phone: string;
  serviceId: string;
  appointmentId: string;
  sessionId: string;
};

/** The acting organization and a foreign one whose ids every tenancy and fuzz case tries. */
export type World = { own: OrgWorld; foreign: OrgWorld; adminKey: string };

export const SHARED_PHONE = "+14155550100";

/** Signs a voice-webhook delivery as a sender would (node:crypto, independent of the code under test). */
export function signWebhook(secret: string, raw: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;
}

async function ok<T = any>(res: Response, what: string): Promise<T> {
  const json = await body(res);
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(json)}`);
  return json as T;
}

let orgSeq = 0;

export async function buildOrg(t: TestApp, label: string): Promise<OrgWorld> {
  const org = await t.createOrg({ name: `${label} ${++orgSeq}`, timezone: "America/New_York" });
  const key = org.writeKey;
  const webhookSecret = `whsec_${label}_${crypto.randomUUID().replaceAll("-", "")}`;
  await ok(await t.request("PATCH", "/api/settings", { key, body: { webhookSecret } }), "settings");
  const [user] = await t.database.db
    .insert(users)
    .values({ orgId: org.orgId, email: `${crypto.randomUUID()}@example.com`, name: `${label} user`, role: "agent" })
    .returning({ id: users.id });
  const voiceAgentId = `va_${label}_${crypto.randomUUID().replaceAll("-", "")}`;
  const agent = await ok(
    await t.request("POST", "/api/agents", { key, body: { name: `${label} Ava`, status: "active", userId: user!.id, voiceAgentId } }),
    "agent",
  );
  const other = await ok(await t.request("POST", "/api/agents", { key, body: { name: `${label} Bo`, status: "active", kind: "human" } }), "agent");
  const callExternalId = `ext-${label}-${orgSeq}`;
  const reconnectToken = `rtok-${label}-${crypto.randomUUID()}`;
  const startedAt = new Date(Date.now() - 3600_000).toISOString();
  const call = await ok(
    await t.request("POST", "/api/calls", {
      key,
      body: {
        externalId: callExternalId,
        phoneNumber: SHARED_PHONE,
        contactName: `${label} caller`,
        agentId: agent.data.id,
        direction: "inbound",
        status: "in_progress",
        startedAt,
        reconnectToken,
        reconnectEligible: true,
        creditsUsed: 3,
      },
    }),
    "call",
  );
  await ok(
    await t.request("PUT", `/api/calls/${call.data.id}/analysis`, {
      key,
      body: { leadScore: 75, milestones: [{ key: "greeting", achieved: true }], objections: [{ kind: "price", handled: false }] },
    }),
    "analysis",
  );
  const service = await ok(await t.request("POST", "/api/services", { key, body: { name: `${label} cleaning`, priceCents: 12_000 } }), "service");
  const appointment = await ok(
    await t.request("POST", "/api/appointments", {
      key,
      body: { contactId: call.data.contactId, serviceId: service.data.id, callId: call.data.id, scheduledAt: new Date(Date.now() + 86_400_000).toISOString() },
    }),
    "appointment",
  );
  const session = await ok(await t.request("POST", "/api/agent-sessions", { key, body: { agentId: agent.data.id, startedAt } }), "session");
  await ok(
    await t.request("PUT", "/api/inbound-config", {
      key,
      body: {
        defaultAgentId: agent.data.id,
        afterHoursAgentId: other.data.id,
        businessHours: { mon: [{ start: "09:00", end: "17:00" }], tue: [{ start: "09:00", end: "17:00" }] },
        rules: [{ prefix: "+1415", agentId: agent.data.id }],
      },
    }),
    "inbound config",
  );
  await ok(await t.request("POST", "/api/pageviews", { key, body: { events: [{ countryCode: "US" }] } }), "pageviews");
  const [writeKeyRow] = await t.database.db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, createHash("sha256").update(org.writeKey).digest("hex")));
  return {
    label,
    orgId: org.orgId,
    writeKey: org.writeKey,
    writeKeyId: writeKeyRow!.id,
    readKey: org.readKey,
    webhookSecret,
    userId: user!.id,
    agentId: agent.data.id,
    voiceAgentId,
    otherAgentId: other.data.id,
    callId: call.data.id,
    callExternalId,
    reconnectToken,
    contactId: call.data.contactId,
    phone: SHARED_PHONE,
    serviceId: service.data.id,
    appointmentId: appointment.data.id,
    sessionId: session.data.id,
  };
}

export async function buildWorld(t: TestApp, adminKey: string): Promise<World> {
  const own = await buildOrg(t, "own");
  const foreign = await buildOrg(t, "foreign");
  return { own, foreign, adminKey };
}

/** Every id of an organization: none may appear in an answer to another organization's key. */
export function idsOf(org: OrgWorld): string[] {
  return [
    org.orgId,
    org.writeKeyId,
    org.userId,
    org.agentId,
    org.voiceAgentId,
    org.otherAgentId,
    org.callId,
    org.contactId,
    org.serviceId,
    org.appointmentId,
    org.sessionId,
  ];
}

/** Everything secret about an organization (keys, webhook secret, reconnect token). */
export function secretsOf(org: OrgWorld): string[] {
  return [org.writeKey, org.readKey, org.webhookSecret, org.reconnectToken];
}
