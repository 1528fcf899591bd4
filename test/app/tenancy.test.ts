import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, createTestApp } from "../support/app";
import { installWriteCounter, writeCount } from "../support/security/fingerprint";
import { bearer, describeAnswer, expectProblem, send } from "../support/security/http";
import { missingFixtureMessage, operationsOf, PUBLIC_PAGES, registeredRoutes, ROUTE_FIXTURES, type Operation } from "../support/security/route-table";
import { routeSuite, runCases, type SecurityCase, type SuiteContext } from "../support/security/tenancy-suite";
import { buildWorld } from "../support/security/world";

/**
 * SPEC §3 on every route, driven by the OpenAPI document: no key, a malformed, unknown or revoked key, the wrong
 * scope, another organization's ids; the signed webhook's signature rules; the public pages. Refusals are problem+json
 * and write nothing. The rate limit is off here: it has its own suite (rate-limit.test.ts).
 */

let ctx: SuiteContext;
let ops: Operation[];

beforeAll(async () => {
  const t = await createTestApp({ rateLimit: false });
  await installWriteCounter(t.database.db);
  ctx = { t, w: await buildWorld(t, ADMIN_KEY), db: t.database.db, sent: new Set() };
  ops = operationsOf(t.app);
});
afterAll(async () => {
  await ctx?.t.close();
});

const operation = (id: string) => {
  const op = ops.find((o) => o.id === id);
  if (!op) throw new Error(`${id} has a fixture in ROUTE_FIXTURES but is not in the OpenAPI document: remove the stale fixture`);
  return op;
};

async function runAll(cases: SecurityCase[]) {
  expect(cases.length).toBeGreaterThan(0);
  await runCases(ctx, cases);
}

describe("the route table", () => {
  it("has a fixture for every operation of the OpenAPI document, and none for a route that is gone", () => {
    const documented = ops.map((o) => o.id);
    const missing = documented.filter((id) => !ROUTE_FIXTURES[id]);
    expect(missing, missing.length ? missingFixtureMessage(missing) : "").toEqual([]);
    expect(
      Object.keys(ROUTE_FIXTURES).filter((id) => !documented.includes(id)),
      "fixtures of routes that no longer exist",
    ).toEqual([]);
  });

  it("knows every route the app answers: each is an OpenAPI operation or one of the public pages", () => {
    const known = new Set([...ops.map((o) => o.id), ...PUBLIC_PAGES]);
    const unknown = registeredRoutes(ctx.t.app).filter((r) => !known.has(r));
    expect(
      unknown,
      `routes outside the OpenAPI document escape the security suites: ${unknown.join(", ")}; document them (app.openapi) or list a public page in PUBLIC_PAGES`,
    ).toEqual([]);
  });

  it("documents an API key on every /api operation but the signed webhook, and none outside /api", () => {
    for (const op of ops) {
      const access = ROUTE_FIXTURES[op.id]?.access;
      const underApi = op.path.startsWith("/api/");
      if (access === "signature") expect(op.authenticated, `${op.id} is signed, not keyed`).toBe(false);
      else expect({ id: op.id, authenticated: op.authenticated }).toEqual({ id: op.id, authenticated: underApi });
      expect(access === "public", `${op.id}: public routes live outside /api, and only they`).toBe(!underApi);
    }
  });

  it("serves the pages outside /api without a key (public by design): /, /docs, /openapi.json", async () => {
    for (const page of PUBLIC_PAGES) {
      const [method, path] = page.split(" ") as [string, string];
      for (const authorization of [null, "Bearer not-a-key"]) {
        const res = await send(ctx.t.app, method, path, { authorization });
        expect(res.status, describeAnswer(page, res)).toBe(200);
      }
    }
  });

  it("answers 401 for an unknown /api path without a key (routes are not revealed), 404 with one", async () => {
    const before = await writeCount(ctx.db);
    const anonymous = await send(ctx.t.app, "GET", "/api/no-such-route");
    expect(anonymous.status, describeAnswer("unknown path without a key", anonymous)).toBe(401);
    expectProblem(anonymous, "unknown path without a key");
    const keyed = await send(ctx.t.app, "POST", "/api/no-such-route", { authorization: bearer(ctx.w.own.writeKey), body: "{}" });
    expect(keyed.status, describeAnswer("unknown path with a key", keyed)).toBe(404);
    expectProblem(keyed, "unknown path with a key");
    expect(await writeCount(ctx.db)).toBe(before);
  });

  it("answers 4xx, never 5xx, to every other method on a documented path, writing nothing", async () => {
    const paths = [...new Set(ops.map((o) => o.path))];
    for (const path of paths) {
      const url = path.replace(/\{[^}]+\}/g, ctx.w.own.callId);
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
        if (ops.some((o) => o.path === path && o.method === method)) continue;
        for (const key of [ctx.w.own.writeKey, ctx.w.adminKey]) {
          const before = await writeCount(ctx.db);
          const res = await send(ctx.t.app, method, url, { authorization: bearer(key), body: method === "GET" ? null : "{}" });
          expect(res.status, describeAnswer(`${method} ${path}`, res)).toBeGreaterThanOrEqual(400);
          expect(res.status, describeAnswer(`${method} ${path}`, res)).toBeLessThan(500);
          expect(await writeCount(ctx.db), `${method} ${path} wrote`).toBe(before);
        }
      }
    }
  });
});

describe.each(Object.keys(ROUTE_FIXTURES))("%s", (id) => {
  const fixture = ROUTE_FIXTURES[id]!;
  const suite = () => routeSuite(ctx, operation(id));

  it(
    fixture.access === "public"
      ? "is public by design: answers without a key"
      : fixture.access === "signature"
        ? "accepts only a valid Tally-Signature: 401 for none, malformed, replayed, another organization's secret or a tampered body, writing nothing"
        : "answers 401 problem+json for no key, a malformed, unknown or revoked key, writing nothing",
    () => runAll(suite().auth),
  );

  if (fixture.access !== "public" && fixture.access !== "signature")
    it("holds keys to their scope: 403 problem+json for too small a scope (or the admin key on an organization route), writing nothing", () =>
      runAll(suite().scope));

  if (fixture.access !== "public")
    it("names the same resource by an upper-case spelling of its ids, and another organization's ids stay refused", () => runAll(suite().spelling));

  if (fixture.foreign)
    it("answers 404 for another organization's ids in the path, query or body, and never reads or writes its rows", () => runAll(suite().tenancy));
});
