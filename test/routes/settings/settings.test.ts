import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { rows } from "../../../functions/db/database";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

const storedOrg = async (orgId: string) =>
  (
    await rows<{ name: string; timezone: string; webhook_secret: string | null }>(
      t.database.db,
      sql`SELECT name, timezone, webhook_secret FROM organizations WHERE id = ${orgId}`,
    )
  )[0]!;

describe("PATCH /api/settings and GET /api/settings", () => {
  it("answers the settings with the secret write-only, and every change on the very next read", async () => {
    const { writeKey, readKey, orgId } = await t.createOrg({ name: "Acme", timezone: "UTC" });
    const first = await body(await t.request("GET", "/api/settings", { key: readKey }));
    expect(first.data).toMatchObject({ id: orgId, name: "Acme", timezone: "UTC", creditsBalance: 0, hasWebhookSecret: false, voiceProvider: null });
    expect(first.meta.cache).toBe("miss");
    expect((await body(await t.request("GET", "/api/settings", { key: readKey }))).meta.cache).toBe("hit");
    // served from the cache, and so is the key's grant: the request sends no statement at all
    expect(t.logs.filter((l) => l.msg === "request").at(-1)!.statements).toBe(0);

    const res = await t.request("PATCH", "/api/settings", {
      key: writeKey,
      body: { webhookSecret: "whsec_0123456789abcdef", voiceProvider: { apiKeyRef: "vault:acme/voice", region: "eu" } },
    });
    const patched = await body(res);
    expect(res.status, JSON.stringify(patched)).toBe(200);
    expect(patched.data).toMatchObject({ name: "Acme", hasWebhookSecret: true, voiceProvider: { apiKeyRef: "vault:acme/voice", region: "eu" } });
    expect(JSON.stringify(patched)).not.toContain("whsec_");
    const read = await body(await t.request("GET", "/api/settings", { key: readKey }));
    expect(read.meta.cache).toBe("miss");
    expect(read.data).toEqual(patched.data);
    expect(JSON.stringify(read)).not.toContain("whsec_");
    expect((await storedOrg(orgId)).webhook_secret).toBe("whsec_0123456789abcdef");

    const renamed = await body(
      await t.request("PATCH", "/api/settings", {
        key: writeKey,
        body: { name: "Acme Dental", timezone: "America/New_York", voiceProvider: { region: "us" } },
      }),
    );
    expect(renamed.data).toMatchObject({
      name: "Acme Dental",
      timezone: "America/New_York",
      hasWebhookSecret: true,
      voiceProvider: { apiKeyRef: null, region: "us" },
    });
    expect((await body(await t.request("GET", "/api/settings", { key: readKey }))).data).toEqual(renamed.data);

    const cleared = await body(await t.request("PATCH", "/api/settings", { key: writeKey, body: { webhookSecret: null, voiceProvider: null } }));
    expect(cleared.data).toMatchObject({ hasWebhookSecret: false, voiceProvider: null, timezone: "America/New_York" });
    const empty = await body(await t.request("PATCH", "/api/settings", { key: writeKey, body: {} }));
    expect({ ...empty.data, updatedAt: null }).toEqual({ ...cleared.data, updatedAt: null });
  });

  it("a timezone change outdates every cached value of the organization; a name change only the settings", async () => {
    const { writeKey, readKey } = await t.createOrg({ timezone: "UTC" });
    const servicesCache = async () => (await body(await t.request("GET", "/api/services", { key: readKey }))).meta.cache;
    expect(await servicesCache()).toBe("miss");
    expect(await servicesCache()).toBe("hit");
    await t.request("PATCH", "/api/settings", { key: writeKey, body: { name: "Renamed" } });
    expect(await servicesCache()).toBe("hit");
    await t.request("PATCH", "/api/settings", { key: writeKey, body: { timezone: "Asia/Kolkata" } });
    expect(await servicesCache()).toBe("miss");
    const read = await body(await t.request("GET", "/api/settings", { key: readKey }));
    expect(read.data).toMatchObject({ name: "Renamed", timezone: "Asia/Kolkata" });
  });

  it("reflects a credits change made by the platform admin on the next read", async () => {
    const { readKey, orgId } = await t.createOrg();
    await t.request("GET", "/api/settings", { key: readKey });
    expect((await t.request("PATCH", `/api/admin/organizations/${orgId}`, { body: { creditsBalance: 500 } })).status).toBe(200);
    expect((await body(await t.request("GET", "/api/settings", { key: readKey }))).data.creditsBalance).toBe(500);
  });

  it.each([
    ["an unknown timezone", { timezone: "Mars/Olympus" }, "timezone"],
    ["a short webhook secret", { webhookSecret: "short" }, "webhookSecret"],
    ["a webhook secret with spaces", { webhookSecret: "a secret with spaces inside" }, "webhookSecret"],
    ["an empty name", { name: "" }, "name"],
    ["a wrong type", { name: 7 }, "name"],
    ["an unknown voice provider field", { voiceProvider: { apiKey: "sk_live" } }, "voiceProvider"],
    ["an unknown field", { creditsBalance: 1_000_000 }, ""],
  ])("answers 400 for %s and changes nothing", async (_name, payload, path) => {
    const { writeKey, orgId } = await t.createOrg({ name: "Same", timezone: "UTC" });
    const res = await t.request("PATCH", "/api/settings", { key: writeKey, body: payload });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(400);
    expect(
      json.errors.some((e: { path: string }) => e.path === path),
      JSON.stringify(json),
    ).toBe(true);
    expect(await storedOrg(orgId)).toEqual({ name: "Same", timezone: "UTC", webhook_secret: null });
  });

  it("answers 400 for malformed JSON, 401 without a key, 403 for a read key, changing nothing", async () => {
    const { writeKey, readKey, orgId } = await t.createOrg({ name: "Same", timezone: "UTC" });
    expect((await t.request("PATCH", "/api/settings", { key: writeKey, rawBody: '{"name":' })).status).toBe(400);
    expect((await t.request("PATCH", "/api/settings", { key: null, body: { name: "X" } })).status).toBe(401);
    expect((await t.request("GET", "/api/settings", { key: null })).status).toBe(401);
    expect((await t.request("PATCH", "/api/settings", { key: readKey, body: { name: "X" } })).status).toBe(403);
    expect(await storedOrg(orgId)).toEqual({ name: "Same", timezone: "UTC", webhook_secret: null });
  });

  it("acts only on the key's own organization", async () => {
    const a = await t.createOrg({ name: "A" });
    const b = await t.createOrg({ name: "B" });
    await t.request("PATCH", "/api/settings", { key: b.writeKey, body: { name: "B2" } });
    expect((await storedOrg(a.orgId)).name).toBe("A");
    expect((await body(await t.request("GET", "/api/settings", { key: a.readKey }))).data).toMatchObject({ id: a.orgId, name: "A" });
  });
});
