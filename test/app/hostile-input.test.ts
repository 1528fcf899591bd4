import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_WINDOW_SPAN_DAYS } from "../../functions/lib/windows";
import { createTestApp, type TestApp } from "../support/app";
import { installWriteCounter, writeCount } from "../support/security/fingerprint";
import { bearer, describeAnswer, expectProblem, send } from "../support/security/http";

/** The inputs the fuzz suites found answered 500 (or burned seconds of CPU), pinned as plain regressions. */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ rateLimit: false });
  await installWriteCounter(t.database.db);
});
afterAll(async () => {
  await t?.close();
});

describe("hostile input found by fuzzing", () => {
  it.each([
    ["POST", "/api/agents", { name: "a\u0000b" }],
    ["POST", "/api/services", { name: "\u0000", priceCents: 1 }],
    ["PATCH", "/api/settings", { name: "Acme\u0000", webhookSecret: "whsec_0123456789abcdef" }],
    ["PATCH", "/api/settings", { voiceProvider: { apiKeyRef: "ref\u0000", region: null } }],
    ["POST", "/api/calls", { phoneNumber: "+14155550123", direction: "inbound", status: "queued", contactName: "\u0000" }],
  ] as const)("%s %s with a NUL character in a text field answers 400 problem+json and writes nothing", async (method, path, payload) => {
    const org = await t.createOrg();
    const before = await writeCount(t.database.db);
    const res = await send(t.app, method, path, { authorization: bearer(org.writeKey), body: JSON.stringify(payload) });
    expect(res.status, describeAnswer(`${method} ${path}`, res)).toBe(400);
    expect(expectProblem(res, path).detail).toMatch(/NUL/);
    expect(await writeCount(t.database.db)).toBe(before);
    expect(t.logs.filter((l) => l.msg === "unhandled error")).toEqual([]);
  });

  it.each(["/api/dashboard/overview", "/api/dashboard/analytics", "/api/coverage", "/api/analytics/agent-variance"])(
    `%s answers 400 at once for a window wider than ${MAX_WINDOW_SPAN_DAYS} days (it burned ~10 s of CPU, then answered 500)`,
    async (path) => {
      const org = await t.createOrg({ timezone: "Pacific/Kiritimati" });
      const started = performance.now();
      const res = await send(t.app, "GET", `${path}?from=1970-01-01T00:00:00Z&to=9999-12-31T23:59:59Z`, { authorization: bearer(org.readKey) });
      expect(res.status, describeAnswer(path, res)).toBe(400);
      expect(expectProblem(res, path).errors).toEqual([{ path: "from", message: `must be at most ${MAX_WINDOW_SPAN_DAYS} days before to` }]);
      // the regression burned ~10 s; half of that tells the two apart without timing a healthy request on a busy machine
      expect(performance.now() - started).toBeLessThan(5_000);
    },
  );

  it.each(["/api/dashboard/overview", "/api/coverage", "/api/calls", "/api/dashboard/analytics", "/api/analytics/agent-variance"])(
    "%s answers 400 for an instant written in year 9999 whose offset puts it in year 10000 (it answered 500)",
    async (path) => {
      const org = await t.createOrg();
      const res = await send(t.app, "GET", `${path}?from=9999-12-31T00:00:00Z&to=9999-12-31T23:00:00-05:00`, { authorization: bearer(org.readKey) });
      expect(res.status, describeAnswer(path, res)).toBe(400);
      expect(expectProblem(res, path).errors).toEqual([expect.objectContaining({ path: expect.stringMatching(/(^|\.)to$/) })]);
    },
  );

  it("still answers the widest allowed window, up to the last representable date", async () => {
    const org = await t.createOrg({ timezone: "Pacific/Kiritimati" });
    const res = await send(t.app, "GET", "/api/dashboard/overview?from=9990-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", { authorization: bearer(org.readKey) });
    expect(res.status, describeAnswer("the last decade of year 9999", res)).toBe(200);
  });

  it.each([
    ["the last decade of year 9999", "from=9990-01-01T00:00:00Z&to=9999-12-31T23:59:59Z"],
    ["the first decade from 1970 (its previous window lies before 1970)", "from=1970-01-01T00:00:00Z&to=1979-12-31T00:00:00Z"],
  ])("answers compare=previous for %s", async (_name, window) => {
    const org = await t.createOrg({ timezone: "Pacific/Kiritimati" });
    const res = await send(t.app, "GET", `/api/dashboard/overview?${window}&compare=previous`, { authorization: bearer(org.readKey) });
    expect(res.status, describeAnswer(window, res)).toBe(200);
  });
});
