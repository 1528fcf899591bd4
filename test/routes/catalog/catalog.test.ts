import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { insertServiceWithAppointments } from "../../support/fixtures";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const servicesOf = async (orgId: string) =>
  rows<{ name: string; price_cents: number }>(t.database.db, sql`SELECT name, price_cents FROM services WHERE org_id = ${orgId} ORDER BY name`);

describe("POST|PATCH|DELETE /api/services and GET /api/services", () => {
  it("creates, changes and deletes services; the cached list follows every write on the next read", async () => {
    const { writeKey, readKey } = await t.createOrg();
    const empty = await body(await t.request("GET", "/api/services", { key: readKey }));
    expect(empty).toMatchObject({ data: [], meta: { cache: "miss" } });
    expect(empty.meta.asOf).toEqual(expect.any(String));
    expect((await body(await t.request("GET", "/api/services", { key: readKey }))).meta.cache).toBe("hit");

    const res = await t.request("POST", "/api/services", { key: writeKey, body: { name: "Whitening", priceCents: 25_000 } });
    const created = await body(res);
    expect(res.status, JSON.stringify(created)).toBe(201);
    expect(created.data).toMatchObject({ name: "Whitening", priceCents: 25_000 });
    await t.request("POST", "/api/services", { key: writeKey, body: { name: "Cleaning", priceCents: 9_900 } });
    const listed = await body(await t.request("GET", "/api/services", { key: readKey }));
    expect(listed.meta.cache).toBe("miss");
    expect(listed.data.map((s: { name: string }) => s.name)).toEqual(["Cleaning", "Whitening"]);
    expect(listed.data[1]).toEqual(created.data);

    const patched = await body(await t.request("PATCH", `/api/services/${created.data.id}`, { key: writeKey, body: { priceCents: 30_000 } }));
    expect(patched.data).toMatchObject({ id: created.data.id, name: "Whitening", priceCents: 30_000 });
    const afterPatch = await body(await t.request("GET", "/api/services", { key: readKey }));
    expect(afterPatch.data.find((s: { id: string }) => s.id === created.data.id).priceCents).toBe(30_000);

    const emptyPatch = await body(await t.request("PATCH", `/api/services/${created.data.id}`, { key: writeKey, body: {} }));
    expect(emptyPatch.data).toMatchObject({ name: "Whitening", priceCents: 30_000 });

    const deleted = await t.request("DELETE", `/api/services/${created.data.id}`, { key: writeKey });
    expect(deleted.status, await deleted.clone().text()).toBe(204);
    const afterDelete = await body(await t.request("GET", "/api/services", { key: readKey }));
    expect(afterDelete.data.map((s: { name: string }) => s.name)).toEqual(["Cleaning"]);
    expect((await t.request("DELETE", `/api/services/${created.data.id}`, { key: writeKey })).status).toBe(404);
  });

  it("keeps a deleted service's appointments, without a service", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const serviceId = await insertServiceWithAppointments(t.database.db, orgId, 5_000, [
      { scheduledAt: new Date("2026-04-01T10:00:00Z"), status: "scheduled" },
      { scheduledAt: new Date("2026-04-02T10:00:00Z"), status: "completed" },
    ]);
    expect((await t.request("DELETE", `/api/services/${serviceId}`, { key: writeKey })).status).toBe(204);
    const left = await rows<{ service_id: string | null }>(t.database.db, sql`SELECT service_id FROM appointments WHERE org_id = ${orgId}`);
    expect(left).toEqual([{ service_id: null }, { service_id: null }]);
  });

  it.each([
    ["a missing price", { name: "X" }, "priceCents"],
    ["a negative price", { name: "X", priceCents: -1 }, "priceCents"],
    ["a fractional price", { name: "X", priceCents: 10.5 }, "priceCents"],
    ["a price past the integer range", { name: "X", priceCents: 3_000_000_000 }, "priceCents"],
    ["a price sent as a string", { name: "X", priceCents: "100" }, "priceCents"],
    ["an empty name", { name: "", priceCents: 100 }, "name"],
    ["an unknown field", { name: "X", priceCents: 100, currency: "EUR" }, ""],
  ])("answers 400 for %s and writes nothing", async (_name, payload, path) => {
    const { writeKey, orgId } = await t.createOrg();
    const res = await t.request("POST", "/api/services", { key: writeKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await servicesOf(orgId)).toEqual([]);
  });

  it("answers 400 for malformed JSON, a bad id or a bad PATCH, and changes nothing", async () => {
    const { writeKey, orgId } = await t.createOrg();
    const created = await body(await t.request("POST", "/api/services", { key: writeKey, body: { name: "Exam", priceCents: 100 } }));
    expect((await t.request("POST", "/api/services", { key: writeKey, rawBody: "{" })).status).toBe(400);
    expect((await t.request("PATCH", `/api/services/${created.data.id}`, { key: writeKey, body: { priceCents: -5 } })).status).toBe(400);
    expect((await t.request("PATCH", `/api/services/${created.data.id}`, { key: writeKey, rawBody: "nope" })).status).toBe(400);
    expect((await t.request("PATCH", "/api/services/not-a-uuid", { key: writeKey, body: { priceCents: 5 } })).status).toBe(400);
    expect((await t.request("DELETE", "/api/services/not-a-uuid", { key: writeKey })).status).toBe(400);
    expect(await servicesOf(orgId)).toEqual([{ name: "Exam", price_cents: 100 }]);
  });

  it("answers 404 for another organization's service and changes nothing", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    const created = await body(await t.request("POST", "/api/services", { key: a.writeKey, body: { name: "Exam", priceCents: 100 } }));
    expect((await t.request("PATCH", `/api/services/${created.data.id}`, { key: b.writeKey, body: { priceCents: 1 } })).status).toBe(404);
    expect((await t.request("DELETE", `/api/services/${created.data.id}`, { key: b.writeKey })).status).toBe(404);
    expect(await servicesOf(a.orgId)).toEqual([{ name: "Exam", price_cents: 100 }]);
    expect((await body(await t.request("GET", "/api/services", { key: b.readKey }))).data).toEqual([]);
  });

  it("answers 401 without a key and 403 for a read key on writes", async () => {
    const { writeKey, readKey, orgId } = await t.createOrg();
    const created = await body(await t.request("POST", "/api/services", { key: writeKey, body: { name: "Exam", priceCents: 100 } }));
    expect((await t.request("GET", "/api/services", { key: null })).status).toBe(401);
    expect((await t.request("POST", "/api/services", { key: null, body: { name: "X", priceCents: 1 } })).status).toBe(401);
    expect((await t.request("POST", "/api/services", { key: readKey, body: { name: "X", priceCents: 1 } })).status).toBe(403);
    expect((await t.request("PATCH", `/api/services/${created.data.id}`, { key: readKey, body: { priceCents: 1 } })).status).toBe(403);
    expect((await t.request("DELETE", `/api/services/${created.data.id}`, { key: readKey })).status).toBe(403);
    expect(await servicesOf(orgId)).toEqual([{ name: "Exam", price_cents: 100 }]);
  });
});
