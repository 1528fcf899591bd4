import { describe, expect, it } from "vitest";
import { body } from "../../support/app";
import { useTestApp } from "../../support/use-test-app";

const t = useTestApp();

describe("GET /api/health/cache", () => {
  it("counts a miss then a hit of a cached read, per namespace, with the hit ratio", async () => {
    const { readKey } = await t.createOrg();
    await t.request("GET", "/api/settings", { key: readKey });
    await t.request("GET", "/api/settings", { key: readKey });
    const res = await t.request("GET", "/api/health/cache", { key: readKey });
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    // settings are served from the "config" namespace
    const config = json.data.namespaces.config;
    expect(config, JSON.stringify(json.data)).toBeDefined();
    expect(config.misses).toBeGreaterThanOrEqual(1);
    expect(config.hits).toBeGreaterThanOrEqual(1);
    expect(json.data.hitRatio).toBeGreaterThan(0);
    expect(json.data.hitRatio).toBeLessThanOrEqual(1);
  });

  it("needs an API key", async () => {
    expect((await t.request("GET", "/api/health/cache", { key: null })).status).toBe(401);
  });
});
