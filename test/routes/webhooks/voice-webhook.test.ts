import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { body, ManualClock } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const NOW = new Date("2026-03-10T12:00:00Z");
const nowSec = Math.floor(NOW.getTime() / 1000);
const clock = new ManualClock(NOW);
const t = useTestApp({ clock });

/** Signs as a sender would, independently of the code under test (node:crypto, not WebCrypto). */
const sign = (secret: string, raw: string, timestamp = nowSec) =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${raw}`).digest("hex")}`;

const deliver = (orgId: string, raw: string, signature?: string) =>
  t.request("POST", `/api/webhooks/voice/${orgId}`, { key: null, rawBody: raw, headers: signature === undefined ? {} : { "tally-signature": signature } });

const countCalls = async (orgId: string) => (await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}`))[0]!.n;

let seq = 0;
async function orgWithSecret() {
  const org = await t.createOrg();
  const secret = `whsec_${crypto.randomUUID().replaceAll("-", "")}`;
  const res = await t.request("PATCH", "/api/settings", { key: org.writeKey, body: { webhookSecret: secret } });
  if (res.status !== 200) throw new Error(await res.text());
  return { ...org, secret };
}
const event = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    externalId: `evt-${++seq}`,
    phoneNumber: "+14155550142",
    direction: "inbound",
    status: "in_progress",
    startedAt: "2026-03-10T11:58:00Z",
    ...extra,
  });

async function expectRejected(res: Response, orgId: string, calls = 0) {
  const json = await body(res);
  expect(res.status, JSON.stringify(json)).toBe(401);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(json.detail).toMatch(/Tally-Signature/);
  expect(await countCalls(orgId)).toBe(calls);
  return json;
}

describe("POST /api/webhooks/voice/{orgId}", () => {
  it("records a signed call event without an API key, and a redelivery is idempotent", async () => {
    const o = await orgWithSecret();
    const raw = event();
    const res = await deliver(o.orgId, raw, sign(o.secret, raw));
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ phoneNumber: "+14155550142", status: "in_progress", startedAt: "2026-03-10T11:58:00.000Z" });
    const again = await deliver(o.orgId, raw, sign(o.secret, raw, nowSec - 1));
    expect(again.status, await again.clone().text()).toBe(200);
    expect((await body(again)).data.id).toBe(json.data.id);
    // the very same delivery again is a replay (SPEC §11): the call as it is, nothing changed
    const replayed = await body(await deliver(o.orgId, raw, sign(o.secret, raw)));
    expect(replayed).toMatchObject({ data: { id: json.data.id }, meta: { replayed: true } });
    const externalId = JSON.parse(raw).externalId;
    const update = JSON.stringify({ externalId, status: "completed", durationSec: 95 });
    const changed = await body(await deliver(o.orgId, update, sign(o.secret, update, nowSec - 10)));
    expect(changed.data).toMatchObject({ id: json.data.id, status: "completed", durationSec: 95, direction: "inbound" });
    expect(await countCalls(o.orgId)).toBe(1);
    const read = await body(await t.request("GET", `/api/calls/${json.data.id}`, { key: o.readKey }));
    expect(read.data).toMatchObject({ externalId, status: "completed" });
  });

  it("accepts a header with several v1 signatures (secret rotation) and extra spaces", async () => {
    const o = await orgWithSecret();
    const raw = event();
    const good = sign(o.secret, raw).split(",v1=")[1];
    const res = await deliver(o.orgId, raw, `t=${nowSec}, v1=${"0".repeat(64)}, v1=${good!.toUpperCase()}`);
    expect(res.status, await res.clone().text()).toBe(201);
  });

  it("accepts a timestamp just inside the 5-minute tolerance either way", async () => {
    const o = await orgWithSecret();
    for (const ts of [nowSec - 299, nowSec + 299]) {
      const raw = event();
      expect((await deliver(o.orgId, raw, sign(o.secret, raw, ts))).status).toBe(201);
    }
    expect(await countCalls(o.orgId)).toBe(2);
  });

  it("answers 401 for a bad signature, another organization's secret, or a tampered body, writing nothing", async () => {
    const a = await orgWithSecret();
    const b = await orgWithSecret();
    const raw = event();
    await expectRejected(await deliver(a.orgId, raw, `t=${nowSec},v1=${"ab".repeat(32)}`), a.orgId);
    await expectRejected(await deliver(a.orgId, raw, sign(b.secret, raw)), a.orgId);
    const tampered = raw.replace("in_progress", "completed");
    await expectRejected(await deliver(a.orgId, tampered, sign(a.secret, raw)), a.orgId);
    // the signature covers the timestamp too
    await expectRejected(await deliver(a.orgId, raw, sign(a.secret, raw, nowSec - 1).replace(`t=${nowSec - 1}`, `t=${nowSec}`)), a.orgId);
    expect(await countCalls(b.orgId)).toBe(0);
  });

  it("answers 401 outside the 5-minute tolerance, writing nothing", async () => {
    const o = await orgWithSecret();
    const raw = event();
    await expectRejected(await deliver(o.orgId, raw, sign(o.secret, raw, nowSec - 301)), o.orgId);
    await expectRejected(await deliver(o.orgId, raw, sign(o.secret, raw, nowSec + 301)), o.orgId);
    // "5 minutes or more is refused": exactly 300 s either way is outside
    await expectRejected(await deliver(o.orgId, raw, sign(o.secret, raw, nowSec - 300)), o.orgId);
    await expectRejected(await deliver(o.orgId, raw, sign(o.secret, raw, nowSec + 300)), o.orgId);
    // a delivery signed now, replayed six minutes later
    const fresh = sign(o.secret, raw);
    clock.advance(6 * 60 * 1000);
    try {
      await expectRejected(await deliver(o.orgId, raw, fresh), o.orgId);
    } finally {
      clock.set(NOW);
    }
  });

  it.each([
    ["a missing header", undefined],
    ["an empty header", ""],
    ["no timestamp", "v1=" + "a".repeat(64)],
    ["no signature", `t=${nowSec}`],
    ["a non-numeric timestamp", `t=soon,v1=${"a".repeat(64)}`],
    ["a short signature", `t=${nowSec},v1=abc`],
    ["a non-hex signature", `t=${nowSec},v1=${"z".repeat(64)}`],
    ["two timestamps", `t=${nowSec},t=${nowSec},v1=${"a".repeat(64)}`],
    ["a part without =", `t=${nowSec},v1`],
  ])("answers 401 for %s, writing nothing", async (_name, header) => {
    const o = await orgWithSecret();
    await expectRejected(await deliver(o.orgId, event(), header), o.orgId);
  });

  it("answers the same 401 for an organization without a secret, an unknown one, or a malformed id", async () => {
    const noSecret = await t.createOrg();
    const raw = event();
    const details = new Set<string>();
    details.add((await expectRejected(await deliver(noSecret.orgId, raw, sign("", raw)), noSecret.orgId)).detail);
    const unknown = crypto.randomUUID();
    const res = await deliver(unknown, raw, sign("whatever-secret-123", raw));
    expect(res.status).toBe(401);
    details.add((await body(res)).detail);
    const malformed = await deliver("not-an-org", raw, sign("whatever-secret-123", raw));
    expect(malformed.status).toBe(401);
    details.add((await body(malformed)).detail);
    expect(details.size).toBe(1);
  });

  it("answers 400 for a signed body that is malformed JSON or not a valid call event, writing nothing", async () => {
    const o = await orgWithSecret();
    const malformed = '{"externalId": "x", ';
    const m = await deliver(o.orgId, malformed, sign(o.secret, malformed));
    expect(m.status, await m.clone().text()).toBe(400);
    expect((await body(m)).title).toBe("Malformed JSON");
    for (const [raw, path] of [
      [JSON.stringify({ phoneNumber: "+14155550142", direction: "inbound", status: "completed" }), "externalId"],
      [event({ status: "exploded" }), "status"],
      [event({ agentId: "agent-7" }), "agentId"],
      [event({ leadScore: 101 }), "leadScore"],
      [event({ surprise: true }), ""],
    ] as const) {
      const res = await deliver(o.orgId, raw, sign(o.secret, raw));
      const json = await body(res);
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(
        json.errors.some((e: { path: string }) => e.path === path),
        JSON.stringify(json),
      ).toBe(true);
    }
    const missing = JSON.stringify({ externalId: "new-without-fields" });
    expect((await deliver(o.orgId, missing, sign(o.secret, missing))).status).toBe(400);
    expect(await countCalls(o.orgId)).toBe(0);
  });

  it("answers 404 for another organization's agent in a signed event, writing nothing", async () => {
    const a = await orgWithSecret();
    const b = await orgWithSecret();
    const agent = await body(await t.request("POST", "/api/agents", { key: a.writeKey, body: { name: "Ava" } }));
    const raw = event({ agentId: agent.data.id });
    const res = await deliver(b.orgId, raw, sign(b.secret, raw));
    expect(res.status, await res.clone().text()).toBe(404);
    expect(await countCalls(b.orgId)).toBe(0);
  });
});
