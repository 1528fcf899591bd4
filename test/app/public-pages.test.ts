import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app";
import { createTestApp, type TestApp } from "../support/app";
import { testTarget } from "../support/worker-target";

/**
 * Issue #18, item 1: the public pages cost nothing per request. The OpenAPI document (and the /docs page built from
 * it) is built once per app, on its first request; /health and /metrics read the database at most once a second
 * (test/routes/ops/health.test.ts, metrics.test.ts).
 */

// spies on the app object in this process: the Worker's app is inside workerd
describe.skipIf(testTarget() === "worker")("the API reference", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("builds the OpenAPI document once, not per request, and not before the first", async () => {
    const app = createApp(t.deps);
    const build = vi.spyOn(app, "getOpenAPI31Document");
    expect(build).not.toHaveBeenCalled();
    const first = await (await app.request("/openapi.json")).text();
    for (let i = 0; i < 3; i++) {
      expect(await (await app.request("/openapi.json")).text()).toBe(first);
      expect((await app.request("/docs")).status).toBe(200);
    }
    expect(build).toHaveBeenCalledTimes(1);
    expect(JSON.parse(first).paths["/api/calls"]).toBeDefined();
  });
});
