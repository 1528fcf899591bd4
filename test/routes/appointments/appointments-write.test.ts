import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const appointmentsOf = async (orgId: string) =>
  rows<{ contact_id: string; service_id: string | null; call_id: string | null; status: string }>(
    t.database.db,
    sql`SELECT contact_id, service_id, call_id, status FROM appointments WHERE org_id = ${orgId} ORDER BY scheduled_at`,
  );
const contactsOf = async (orgId: string) =>
  rows<{ phone: string; name: string | null }>(t.database.db, sql`SELECT phone, name FROM contacts WHERE org_id = ${orgId} ORDER BY phone`);

/** An organization with one call (and so one contact) and one service. */
async function orgWithCallAndService(phone = "+14155550100") {
  const org = await t.createOrg();
  const call = await body(
    await t.request("POST", "/api/calls", { key: org.writeKey, body: { phoneNumber: phone, direction: "inbound", status: "completed" } }),
  );
  const service = await body(await t.request("POST", "/api/services", { key: org.writeKey, body: { name: "Consult", priceCents: 12_000 } }));
  return { ...org, callId: call.data.id as string, contactId: call.data.contactId as string, serviceId: service.data.id as string };
}

describe("POST /api/appointments", () => {
  it("books for an existing contact, with its call and service", async () => {
    const o = await orgWithCallAndService();
    const res = await t.request("POST", "/api/appointments", {
      key: o.writeKey,
      body: { contactId: o.contactId, callId: o.callId, serviceId: o.serviceId, scheduledAt: "2026-04-01T15:00:00+02:00" },
    });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({
      contactId: o.contactId,
      callId: o.callId,
      serviceId: o.serviceId,
      scheduledAt: "2026-04-01T13:00:00.000Z",
      status: "scheduled",
    });
    expect(json.data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await appointmentsOf(o.orgId)).toHaveLength(1);
  });

  it("finds or creates the contact by phone number, as calls do", async () => {
    const o = await orgWithCallAndService("+14155550101");
    const known = await body(
      await t.request("POST", "/api/appointments", { key: o.writeKey, body: { phoneNumber: "+14155550101", scheduledAt: "2026-04-01T10:00:00Z" } }),
    );
    expect(known.data.contactId).toBe(o.contactId);
    const res = await t.request("POST", "/api/appointments", {
      key: o.writeKey,
      body: { phoneNumber: "+14155550199", contactName: "Nia", scheduledAt: "2026-04-02T10:00:00Z", status: "completed" },
    });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.data).toMatchObject({ status: "completed", callId: null, serviceId: null });
    expect(await contactsOf(o.orgId)).toEqual([
      { phone: "+14155550101", name: null },
      { phone: "+14155550199", name: "Nia" },
    ]);
  });

  it.each([
    ["no contact", { scheduledAt: "2026-04-01T10:00:00Z" }, "contactId"],
    ["both a contact id and a phone number", { contactId: "__contact", phoneNumber: "+14155550100", scheduledAt: "2026-04-01T10:00:00Z" }, "phoneNumber"],
    ["a contact name without a phone number", { contactId: "__contact", contactName: "X", scheduledAt: "2026-04-01T10:00:00Z" }, "contactName"],
    ["a missing scheduledAt", { contactId: "__contact" }, "scheduledAt"],
    ["an impossible scheduledAt", { contactId: "__contact", scheduledAt: "2026-04-31T10:00:00Z" }, "scheduledAt"],
    ["an unknown status", { contactId: "__contact", scheduledAt: "2026-04-01T10:00:00Z", status: "maybe" }, "status"],
    ["a malformed service id", { contactId: "__contact", scheduledAt: "2026-04-01T10:00:00Z", serviceId: "svc" }, "serviceId"],
    ["a bad phone number", { phoneNumber: "4155550100", scheduledAt: "2026-04-01T10:00:00Z" }, "phoneNumber"],
    ["a wrong type", { contactId: "__contact", scheduledAt: 1743500000 }, "scheduledAt"],
    ["an unknown field", { contactId: "__contact", scheduledAt: "2026-04-01T10:00:00Z", notes: "x" }, ""],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const o = await orgWithCallAndService();
    const sent = Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, v === "__contact" ? o.contactId : v]));
    const res = await t.request("POST", "/api/appointments", { key: o.writeKey, body: sent });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await appointmentsOf(o.orgId)).toHaveLength(0);
    expect(await contactsOf(o.orgId)).toHaveLength(1);
  });

  it("lists every offending field at once, and answers 400 for malformed JSON", async () => {
    const o = await orgWithCallAndService();
    const json = await body(await t.request("POST", "/api/appointments", { key: o.writeKey, body: { status: "maybe", serviceId: 5 } }));
    expect(json.errors.map((e: { path: string }) => e.path).sort()).toEqual(["contactId", "scheduledAt", "serviceId", "status"]);
    expect((await t.request("POST", "/api/appointments", { key: o.writeKey, rawBody: '{"scheduledAt":' })).status).toBe(400);
    expect(await appointmentsOf(o.orgId)).toHaveLength(0);
  });

  it.each(["contactId", "serviceId", "callId"] as const)("answers 404 for another organization's %s and writes nothing", async (field) => {
    const a = await orgWithCallAndService("+14155550111");
    const b = await orgWithCallAndService("+14155550122");
    const payload = { contactId: b.contactId, callId: b.callId, serviceId: b.serviceId, scheduledAt: "2026-04-01T10:00:00Z", [field]: a[field] };
    const res = await t.request("POST", "/api/appointments", { key: b.writeKey, body: payload });
    expect(res.status, await res.clone().text()).toBe(404);
    expect(await appointmentsOf(b.orgId)).toHaveLength(0);
    expect(await appointmentsOf(a.orgId)).toHaveLength(0);
  });

  it("answers 401 without a key and 403 for a read key", async () => {
    const o = await orgWithCallAndService();
    const payload = { contactId: o.contactId, scheduledAt: "2026-04-01T10:00:00Z" };
    expect((await t.request("POST", "/api/appointments", { key: null, body: payload })).status).toBe(401);
    expect((await t.request("POST", "/api/appointments", { key: o.readKey, body: payload })).status).toBe(403);
    expect(await appointmentsOf(o.orgId)).toHaveLength(0);
  });
});

describe("PATCH /api/appointments/{id}", () => {
  it("changes only the fields sent, including clearing the service and moving to a new contact by phone", async () => {
    const o = await orgWithCallAndService();
    const created = await body(
      await t.request("POST", "/api/appointments", {
        key: o.writeKey,
        body: { contactId: o.contactId, serviceId: o.serviceId, callId: o.callId, scheduledAt: "2026-04-01T10:00:00Z" },
      }),
    );
    const id = created.data.id;
    const res = await t.request("PATCH", `/api/appointments/${id}`, { key: o.writeKey, body: { status: "cancelled", serviceId: null } });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({
      id,
      status: "cancelled",
      serviceId: null,
      callId: o.callId,
      contactId: o.contactId,
      scheduledAt: "2026-04-01T10:00:00.000Z",
    });
    const moved = await body(
      await t.request("PATCH", `/api/appointments/${id}`, { key: o.writeKey, body: { phoneNumber: "+14155550177", contactName: "Moe" } }),
    );
    expect(moved.data.contactId).not.toBe(o.contactId);
    expect(moved.data.status).toBe("cancelled");
    const empty = await body(await t.request("PATCH", `/api/appointments/${id}`, { key: o.writeKey, body: {} }));
    expect({ ...empty.data, updatedAt: null }).toEqual({ ...moved.data, updatedAt: null });
  });

  it("answers 404 for another organization's appointment, contact, service or call and changes nothing", async () => {
    const a = await orgWithCallAndService("+14155550131");
    const b = await orgWithCallAndService("+14155550132");
    const appt = await body(
      await t.request("POST", "/api/appointments", {
        key: a.writeKey,
        body: { contactId: a.contactId, serviceId: a.serviceId, scheduledAt: "2026-04-01T10:00:00Z" },
      }),
    );
    expect((await t.request("PATCH", `/api/appointments/${appt.data.id}`, { key: b.writeKey, body: { status: "no_show" } })).status).toBe(404);
    expect((await t.request("PATCH", `/api/appointments/${appt.data.id}`, { key: b.writeKey, body: { phoneNumber: "+14155550999" } })).status).toBe(404);
    for (const foreign of [{ contactId: b.contactId }, { serviceId: b.serviceId }, { callId: b.callId }])
      expect((await t.request("PATCH", `/api/appointments/${appt.data.id}`, { key: a.writeKey, body: foreign })).status).toBe(404);
    expect(await appointmentsOf(a.orgId)).toEqual([{ contact_id: a.contactId, service_id: a.serviceId, call_id: null, status: "scheduled" }]);
    expect(await contactsOf(b.orgId)).toHaveLength(1);
  });

  it("answers 400 for bad input and 403 for a read key, changing nothing", async () => {
    const o = await orgWithCallAndService();
    const appt = await body(
      await t.request("POST", "/api/appointments", { key: o.writeKey, body: { contactId: o.contactId, scheduledAt: "2026-04-01T10:00:00Z" } }),
    );
    const path = `/api/appointments/${appt.data.id}`;
    for (const bad of [
      { status: "late" },
      { scheduledAt: "tomorrow" },
      { callId: "c-1" },
      { contactId: o.contactId, phoneNumber: "+14155550100" },
      { contactId: null },
    ])
      expect((await t.request("PATCH", path, { key: o.writeKey, body: bad })).status, JSON.stringify(bad)).toBe(400);
    expect((await t.request("PATCH", path, { key: o.writeKey, rawBody: "{]" })).status).toBe(400);
    expect((await t.request("PATCH", "/api/appointments/xyz", { key: o.writeKey, body: { status: "completed" } })).status).toBe(400);
    expect((await t.request("PATCH", path, { key: o.readKey, body: { status: "completed" } })).status).toBe(403);
    expect(await appointmentsOf(o.orgId)).toEqual([{ contact_id: o.contactId, service_id: null, call_id: null, status: "scheduled" }]);
  });
});
