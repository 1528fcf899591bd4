import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

/**
 * Issue #18, item 3 (SPEC §11 "Webhook replays"): a delivery whose `(t, v1)` pair was already accepted answers 200
 * with `meta.replayed: true` and changes nothing, for as long as the pair is inside the tolerance window; from
 * exactly 300 s on it is refused by the tolerance itself.
 */

const NOW = new Date("2026-03-10T12:00:00Z");
const nowSec = Math.floor(NOW.getTime() / 1000);
const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

const sign = (secret: string, raw: string, timestamp: number) =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;

const deliver = (orgId: string, raw: string, signature: string) =>
  t.request("POST", `/api/webhooks/voice/${orgId}`, { key: null, rawBody: raw, headers: { "tally-signature": signature } });

async function orgWithSecret() {
  const org = await t.createOrg();
  const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
  const res = await t.request("PATCH", "/api/settings", { key: org.writeKey, body: { webhookSecret: secret } });
  expect(res.status, await res.clone().text()).toBe(200);
  return { ...org, secret };
}

describe("webhook replays", () => {
  it("does not roll a call back when a captured older delivery is replayed after a newer one", async () => {
    clock.set(NOW);
    const o = await orgWithSecret();
    const externalId = `evt-${crypto.randomUUID()}`;
    const ringing = JSON.stringify({
      externalId,
      phoneNumber: "+14155550142",
      direction: "inbound",
      status: "in_progress",
      reconnectEligible: true,
      reconnectToken: `tok-${crypto.randomUUID()}`,
      startedAt: "2026-03-10T11:58:00Z",
    });
    const captured = sign(o.secret, ringing, nowSec);
    const first = await deliver(o.orgId, ringing, captured);
    expect(first.status, await first.clone().text()).toBe(201);
    const callId = (await body(first)).data.id as string;

    clock.set(new Date(NOW.getTime() + 30_000));
    const ended = JSON.stringify({ externalId, status: "completed", reconnectEligible: false, endedAt: "2026-03-10T12:00:20Z" });
    const second = await deliver(o.orgId, ended, sign(o.secret, ended, nowSec + 30));
    expect(second.status, await second.clone().text()).toBe(200);

    // the attacker replays the captured first delivery, 60 s after it was signed: inside the tolerance
    clock.set(new Date(NOW.getTime() + 60_000));
    const replay = await deliver(o.orgId, ringing, captured);
    const json = await body(replay);
    expect(replay.status, JSON.stringify(json)).toBe(200);
    expect(json.meta).toEqual({ replayed: true });
    expect(json.data).toMatchObject({ id: callId, status: "completed", reconnectEligible: false });
    const read = await body(await t.request("GET", `/api/calls/${callId}`, { key: o.readKey }));
    expect(read.data).toMatchObject({ status: "completed", reconnectEligible: false });
  });

  it("recognises a replay up to the end of the window, and refuses it from exactly 300 s on", async () => {
    clock.set(NOW);
    const o = await orgWithSecret();
    const raw = JSON.stringify({ externalId: `evt-${crypto.randomUUID()}`, phoneNumber: "+14155550142", direction: "inbound", status: "queued" });
    const signature = sign(o.secret, raw, nowSec);
    expect((await deliver(o.orgId, raw, signature)).status).toBe(201);
    clock.set(new Date(NOW.getTime() + 299_999));
    const late = await body(await deliver(o.orgId, raw, signature));
    expect(late.meta, JSON.stringify(late)).toEqual({ replayed: true });
    clock.set(new Date(NOW.getTime() + 300_000));
    const expired = await deliver(o.orgId, raw, signature);
    expect(expired.status, await expired.clone().text()).toBe(401);
    clock.set(NOW);
  });

  it("lets a delivery that failed be retried as it was: only an accepted pair is remembered", async () => {
    clock.set(NOW);
    const o = await orgWithSecret();
    const other = await orgWithSecret();
    const agent = await body(await t.request("POST", "/api/agents", { key: other.writeKey, body: { name: "Elsewhere" } }));
    const raw = JSON.stringify({
      externalId: `evt-${crypto.randomUUID()}`,
      phoneNumber: "+14155550142",
      direction: "inbound",
      status: "queued",
      agentId: agent.data.id,
    });
    const signature = sign(o.secret, raw, nowSec);
    expect((await deliver(o.orgId, raw, signature)).status).toBe(404);
    const again = await deliver(o.orgId, raw, signature);
    expect(again.status, await again.clone().text()).toBe(404);
  });

  it("tells the same body signed at another second apart from a replay (it is a redelivery, applied)", async () => {
    clock.set(NOW);
    const o = await orgWithSecret();
    const raw = JSON.stringify({ externalId: `evt-${crypto.randomUUID()}`, phoneNumber: "+14155550142", direction: "inbound", status: "queued" });
    expect((await deliver(o.orgId, raw, sign(o.secret, raw, nowSec))).status).toBe(201);
    const redelivered = await deliver(o.orgId, raw, sign(o.secret, raw, nowSec + 1));
    const json = await body(redelivered);
    expect(redelivered.status, JSON.stringify(json)).toBe(200);
    expect(json.meta).toBeUndefined();
  });
});
