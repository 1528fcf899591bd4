import { createHash } from "node:crypto";
import { expect } from "vitest";
import type { Db } from "../../../functions/db/database";
import { revokeApiKey } from "../../../functions/services/api-key-lookup";
import { createApiKey } from "../../../functions/services/organizations";
import type { TestApp } from "../app";
import { orgChecksum, writeCount } from "./fingerprint";
import { bearer, describeAnswer, expectNoneOf, expectProblem, send, type Sent } from "./http";
import { fixtureFor, urlOf, type Operation, type RequestSpec, type RouteFixture } from "./route-table";
import { idsOf, secretsOf, signWebhook, type World } from "./world";

/**
 * The shared auth and tenancy suite (SPEC §3), table-driven: for one operation of the OpenAPI document it builds
 * every case from the route's fixture. Each rejected case must answer the expected status with problem+json and
 * leave the database exactly as it was (the write counter of `fingerprint.ts`); no answer to one organization's key
 * may carry another organization's ids or anyone's secrets.
 */

export type SuiteContext = {
  t: TestApp;
  w: World;
  db: Db;
  /** every key, secret and signature the suite sent: the secrets test searches the logs for each */
  sent: Set<string>;
};

export type SecurityCase = { name: string; run(): Promise<void> };
export type RouteSuite = { auth: SecurityCase[]; scope: SecurityCase[]; tenancy: SecurityCase[]; spelling: SecurityCase[] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The request with every UUID in its path, query and body spelled in upper case, and whether there was one. */
export function upperCaseIds(spec: RequestSpec): { spec: RequestSpec; changed: boolean } {
  let changed = false;
  const up = (value: unknown): unknown => {
    if (typeof value === "string" && UUID.test(value)) {
      changed = true;
      return value.toUpperCase();
    }
    if (Array.isArray(value)) return value.map(up);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, up(v)]));
    return value;
  };
  const out: RequestSpec = { ...spec };
  if (spec.params) out.params = up(spec.params) as Record<string, string>;
  if (spec.query) out.query = spec.query.map(([k, v]) => [k, up(v) as string]);
  if (spec.body !== undefined) out.body = up(spec.body);
  return { spec: out, changed };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Sends a fixture's request with an Authorization header (or a webhook signature). */
async function sendSpec(
  ctx: SuiteContext,
  op: Operation,
  spec: RequestSpec,
  auth: { authorization?: string | null; signature?: string | null; rawBody?: string },
): Promise<Sent> {
  const raw = auth.rawBody ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body));
  const headers: Record<string, string> = {};
  if (auth.signature != null) {
    headers["tally-signature"] = auth.signature;
    ctx.sent.add(auth.signature);
  }
  if (auth.authorization) ctx.sent.add(auth.authorization);
  return send(ctx.t.app, op.method, urlOf(op.path, spec), { authorization: auth.authorization ?? null, headers, body: raw ?? null });
}

/** What no answer to `own`'s key (or to the webhook) may carry. */
function forbiddenFor(ctx: SuiteContext): string[] {
  return [...idsOf(ctx.w.foreign), ...secretsOf(ctx.w.foreign), ...secretsOf(ctx.w.own), ctx.w.adminKey];
}

/** The request must be refused with `status` and problem+json, and write nothing. */
async function expectRefused(
  ctx: SuiteContext,
  what: string,
  status: number,
  build: () => RequestSpec | Promise<RequestSpec>,
  go: (spec: RequestSpec) => Promise<Sent>,
): Promise<void> {
  const spec = await build(); // before the count: a fixture may create what it consumes
  const before = await writeCount(ctx.db);
  const res = await go(spec);
  expect(res.status, describeAnswer(what, res)).toBe(status);
  expectProblem(res, what);
  expect(await writeCount(ctx.db), `${what}: a refused request wrote to the database`).toBe(before);
  expectNoneOf(res, forbiddenFor(ctx), what);
}

/** A valid request is answered as the fixture says; no answer to an organization's key carries another's ids or secrets. */
async function expectAccepted(ctx: SuiteContext, fixture: RouteFixture, what: string, go: (spec: RequestSpec) => Promise<Sent>): Promise<void> {
  const res = await go(await fixture.valid(ctx.w, ctx.t));
  expect(res.status, describeAnswer(what, res)).toBe(fixture.success);
  // the platform admin's answers span organizations by design (GET /api/admin/organizations lists them all)
  if (fixture.access !== "admin") expectNoneOf(res, forbiddenFor(ctx), what);
}

/**
 * Runs cases, naming the failing one, and holds the other organization's rows to one checksum before and after them
 * all: nothing a route does for one organization (or for the platform admin acting on it) touches another's.
 */
export async function runCases(ctx: SuiteContext, cases: SecurityCase[]): Promise<void> {
  const before = await orgChecksum(ctx.db, ctx.w.foreign.orgId);
  for (const c of cases) {
    try {
      await c.run();
    } catch (error) {
      if (error instanceof Error) error.message = `[${c.name}] ${error.message}`;
      throw error;
    }
  }
  expect(await orgChecksum(ctx.db, ctx.w.foreign.orgId), "another organization's rows changed").toEqual(before);
}

/** The key a route's own organization uses for it: the least scope that may call it. */
const keyFor = (ctx: SuiteContext, fixture: RouteFixture) =>
  fixture.access === "admin" ? ctx.w.adminKey : fixture.access === "read" ? ctx.w.own.readKey : ctx.w.own.writeKey;

/** Variations of a present key that must all be refused with 401. */
function malformedAuthorizations(key: string): [string, string][] {
  const flipped = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
  return [
    ["an empty Authorization header", ""],
    ["the scheme without a key", "Bearer"],
    ["the key without a scheme", key],
    ["the key under the Basic scheme", `Basic ${Buffer.from(`api:${key}`).toString("base64")}`],
    ["two keys", `Bearer ${key} ${key}`],
    ["a truncated key", `Bearer ${key.slice(0, -1)}`],
    ["a key with its last character changed", `Bearer ${flipped}`],
    ["the key in upper case", `Bearer ${key.toUpperCase()}`],
    ["the key's stored hash", `Bearer ${sha256(key)}`],
    ["an unknown well-formed key", `Bearer tly_w_${"Q".repeat(32)}`],
    ["a 10,000-character key", `Bearer ${"k".repeat(10_000)}`],
    ["SQL in the key", "Bearer '||(SELECT key_hash FROM api_keys LIMIT 1)||'"],
    ["a Latin-1 key", "Bearer cl\u00e9-\u00e0-moi"],
  ];
}

/** Creates a key of `scope` for the acting organization (admin: a platform key), answers it and its id. */
async function extraKey(ctx: SuiteContext, scope: "read" | "write" | "admin") {
  return createApiKey(ctx.db, { orgId: scope === "admin" ? null : ctx.w.own.orgId, scope, name: `revocable ${scope}` });
}

/**
 * Revokes a key the way Tally does (org keys: DELETE /api/admin/organizations/{id}/keys/{keyId}; platform keys: the
 * service the CLI calls), which also drops its cached grant. A key revoked by hand in SQL: see revocation.test.ts.
 */
async function revoke(ctx: SuiteContext, keyId: string, scope: "read" | "write" | "admin"): Promise<void> {
  if (scope === "admin") {
    const revoked = await revokeApiKey({ db: ctx.db, cache: ctx.t.deps.cache, clock: ctx.t.deps.clock }, keyId, null);
    expect(revoked, "the admin key was not revoked").toBeDefined();
    return;
  }
  const res = await send(ctx.t.app, "DELETE", `/api/admin/organizations/${ctx.w.own.orgId}/keys/${keyId}`, { authorization: bearer(ctx.w.adminKey) });
  expect(res.status, describeAnswer("revoking the key", res)).toBe(200);
}

/** A cheap read the key may make, to warm any key-lookup cache before the key is revoked. */
const warmUpRead = (scope: "read" | "write" | "admin") => (scope === "admin" ? "/api/admin/organizations" : "/api/settings");

export function routeSuite(ctx: SuiteContext, op: Operation): RouteSuite {
  const fixture = fixtureFor(op);
  const suite: RouteSuite = { auth: [], scope: [], tenancy: [], spelling: [] };
  const valid = () => fixture.valid(ctx.w, ctx.t);

  if (fixture.access === "public") {
    suite.auth.push({
      name: "answers without any key, and ignores a bad one (public by design)",
      run: async () => {
        for (const authorization of [null, "Bearer not-a-key"]) {
          const res = await sendSpec(ctx, op, await valid(), { authorization });
          expect(res.status, describeAnswer(`${op.id} with ${authorization ?? "no key"}`, res)).toBe(fixture.success);
        }
      },
    });
    return suite;
  }

  if (fixture.access === "signature") {
    suite.auth.push(...webhookCases(ctx, op, fixture));
  } else {
    const scope = fixture.access;
    suite.auth.push({
      name: "answers 401 without a key",
      run: async () => expectRefused(ctx, `${op.id} without a key`, 401, valid, (spec) => sendSpec(ctx, op, spec, { authorization: null })),
    });
    suite.auth.push({
      name: "answers 401 for a malformed or unknown key",
      run: async () => {
        for (const [what, authorization] of malformedAuthorizations(keyFor(ctx, fixture)))
          await expectRefused(ctx, `${op.id} with ${what}`, 401, valid, (spec) => sendSpec(ctx, op, spec, { authorization }));
      },
    });
    suite.auth.push({
      name: "answers 401 for a key revoked a moment ago, right after it was used (revocation is immediate)",
      run: async () => {
        const key = await extraKey(ctx, scope);
        ctx.sent.add(key.apiKey);
        const warm = await send(ctx.t.app, "GET", warmUpRead(scope), { authorization: bearer(key.apiKey) });
        expect(warm.status, describeAnswer("the key before revocation", warm)).toBe(200);
        await revoke(ctx, key.id, scope);
        await expectRefused(ctx, `${op.id} with a revoked key`, 401, valid, (spec) => sendSpec(ctx, op, spec, { authorization: bearer(key.apiKey) }));
        const again = await send(ctx.t.app, "GET", warmUpRead(scope), { authorization: bearer(key.apiKey) });
        expect(again.status, describeAnswer("the warmed-up read with the revoked key", again)).toBe(401);
      },
    });

    // scopes: read < write; admin only under /api/admin; the platform admin key acts on no organization's routes
    const keys: [string, string, boolean][] = [
      ["a read key", ctx.w.own.readKey, scope === "read"],
      ["a write key", ctx.w.own.writeKey, scope !== "admin"],
      ["the platform admin key", ctx.w.adminKey, scope === "admin" || !fixture.orgScoped],
    ];
    for (const [what, key, allowed] of keys) {
      suite.scope.push(
        allowed
          ? {
              name: `accepts ${what}`,
              run: async () => expectAccepted(ctx, fixture, `${op.id} with ${what}`, (spec) => sendSpec(ctx, op, spec, { authorization: bearer(key) })),
            }
          : {
              name: `answers 403 for ${what}`,
              run: async () => expectRefused(ctx, `${op.id} with ${what}`, 403, valid, (spec) => sendSpec(ctx, op, spec, { authorization: bearer(key) })),
            },
      );
    }
    if (scope === "admin")
      suite.scope.push({
        name: "answers 403 for another organization's write key",
        run: async () =>
          expectRefused(ctx, `${op.id} with another organization's write key`, 403, valid, (spec) =>
            sendSpec(ctx, op, spec, { authorization: bearer(ctx.w.foreign.writeKey) }),
          ),
      });
  }

  const go = (spec: RequestSpec) => {
    if (fixture.access !== "signature") return sendSpec(ctx, op, spec, { authorization: bearer(keyFor(ctx, fixture)) });
    const raw = JSON.stringify(spec.body);
    return sendSpec(ctx, op, spec, { rawBody: raw, signature: signWebhook(ctx.w.own.webhookSecret, raw) });
  };
  // issue #18: an id is lower-cased when parsed, so an upper-case spelling names the same resource (and the same
  // cache entries and locks: test/app/ids.test.ts), and another organization's id stays out of reach
  suite.spelling.push({
    name: "accepts its own ids spelled in upper case",
    run: async () => {
      const { spec, changed } = upperCaseIds(await valid());
      if (!changed) return;
      await expectAccepted(ctx, { ...fixture, valid: () => spec }, `${op.id} with upper-case ids`, go);
    },
  });
  for (const foreign of fixture.foreign?.(ctx.w) ?? []) {
    const upper = upperCaseIds(foreign.request);
    if (!upper.changed || foreign.expect === "isolated") continue;
    suite.spelling.push({
      name: `answers ${foreign.expect} for another organization's ${foreign.name} spelled in upper case`,
      run: () => expectRefused(ctx, `${op.id} with another organization's ${foreign.name} in upper case`, foreign.expect as 404 | 409, () => upper.spec, go),
    });
  }

  for (const foreign of fixture.foreign?.(ctx.w) ?? []) {
    const what = `${op.id} with another organization's ${foreign.name}`;
    suite.tenancy.push(
      foreign.expect !== "isolated"
        ? {
            name: `answers ${foreign.expect} for another organization's ${foreign.name}`,
            run: () => expectRefused(ctx, what, foreign.expect as 404 | 409, () => foreign.request, go),
          }
        : {
            name: `keeps another organization's ${foreign.name} out of reach`,
            run: async () => {
              const before = await orgChecksum(ctx.db, ctx.w.foreign.orgId);
              const res = await go(foreign.request);
              expect(res.status, describeAnswer(what, res)).toBeLessThan(500);
              expectNoneOf(res, forbiddenFor(ctx), what);
              expect(await orgChecksum(ctx.db, ctx.w.foreign.orgId), `${what}: the other organization's rows changed`).toEqual(before);
            },
          },
    );
  }
  return suite;
}

/** SPEC §6: the voice webhook is authenticated by `Tally-Signature` alone; every way to get it wrong is 401. */
function webhookCases(ctx: SuiteContext, op: Operation, fixture: RouteFixture): SecurityCase[] {
  const nowSec = () => Math.floor(Date.now() / 1000);
  const own = ctx.w.own;
  const deliver = async (what: string, sign: (raw: string) => { raw?: string; signature: string | null; authorization?: string; orgId?: string }) => {
    const spec = await fixture.valid(ctx.w, ctx.t);
    const raw = JSON.stringify(spec.body);
    const signed = sign(raw);
    const target = { ...spec, params: { orgId: signed.orgId ?? own.orgId } };
    return expectRefused(
      ctx,
      `${op.id}: ${what}`,
      401,
      () => target,
      (spec) => sendSpec(ctx, op, spec, { rawBody: signed.raw ?? raw, signature: signed.signature, authorization: signed.authorization ?? null }),
    );
  };
  const hex = (n: number) => "ab".repeat(n / 2);
  return [
    {
      name: "accepts a delivery signed with the organization's secret",
      run: async () => {
        await expectAccepted(ctx, fixture, `${op.id} signed`, (spec) => {
          const raw = JSON.stringify(spec.body);
          return sendSpec(ctx, op, spec, { rawBody: raw, signature: signWebhook(own.webhookSecret, raw) });
        });
      },
    },
    { name: "answers 401 without a signature", run: () => deliver("no signature", () => ({ signature: null })) },
    {
      name: "answers 401 for an API key in place of a signature",
      run: () => deliver("a write key instead of a signature", () => ({ signature: null, authorization: bearer(own.writeKey) })),
    },
    {
      name: "answers 401 for malformed signature headers",
      run: async () => {
        const t = nowSec();
        for (const [what, header] of [
          ["an empty header", ""],
          ["garbage", "garbage"],
          ["no timestamp", `v1=${hex(64)}`],
          ["no v1", `t=${t}`],
          ["a non-numeric timestamp", `t=NaN,v1=${hex(64)}`],
          ["an exponent timestamp", `t=1e309,v1=${hex(64)}`],
          ["a negative timestamp", `t=-${t},v1=${hex(64)}`],
          ["a short v1", `t=${t},v1=${hex(62)}`],
          ["an oversize header", `t=${t},${`v1=${hex(64)},`.repeat(40)}v1=${hex(64)}`],
          ["SQL in the header", `t=${t},v1=' OR 1=1 --`],
        ] as const)
          await deliver(what, () => ({ signature: header }));
      },
    },
    {
      name: "answers 401 for a replay outside the 5-minute tolerance",
      run: async () => {
        await deliver("signed 301 s ago", (raw) => ({ signature: signWebhook(own.webhookSecret, raw, nowSec() - 301) }));
        await deliver("signed 300 s ago (5 minutes or more is refused)", (raw) => ({ signature: signWebhook(own.webhookSecret, raw, nowSec() - 300) }));
        await deliver("signed 6 minutes ago (a replay)", (raw) => ({ signature: signWebhook(own.webhookSecret, raw, nowSec() - 360) }));
        await deliver("signed 301 s ahead", (raw) => ({ signature: signWebhook(own.webhookSecret, raw, nowSec() + 301) }));
      },
    },
    {
      name: "answers 401 for a signature made with another organization's secret",
      run: () => deliver("signed with another organization's secret", (raw) => ({ signature: signWebhook(ctx.w.foreign.webhookSecret, raw) })),
    },
    {
      name: "answers 401 for a delivery signed for one organization and sent to another",
      run: async () => {
        const before = await orgChecksum(ctx.db, ctx.w.foreign.orgId);
        await deliver("own signature, the other organization's endpoint", (raw) => ({
          signature: signWebhook(own.webhookSecret, raw),
          orgId: ctx.w.foreign.orgId,
        }));
        expect(await orgChecksum(ctx.db, ctx.w.foreign.orgId)).toEqual(before);
      },
    },
    {
      name: "answers 401 for a tampered body",
      run: () =>
        deliver("a body changed after signing", (raw) => ({
          signature: signWebhook(own.webhookSecret, raw),
          raw: raw.replace('"in_progress"', '"completed"'),
        })),
    },
    {
      name: "answers 401 for a signature over another timestamp",
      run: () =>
        deliver("the timestamp changed after signing", (raw) => {
          const t = nowSec();
          return { signature: signWebhook(own.webhookSecret, raw, t - 1).replace(`t=${t - 1}`, `t=${t}`) };
        }),
    },
  ];
}
