import { eq } from "drizzle-orm";
import fc from "fast-check";
import { expect } from "vitest";
import { organizations } from "../../../drizzle/schema";
import type { TestApp } from "../../support/app";
import { orgChecksum, writeCount } from "./fingerprint";
import { bearer, describeAnswer, expectNoneOf, expectProblem, send, type Sent } from "./http";
import { fixtureFor, urlOf, type Operation, type RequestSpec } from "./route-table";
import { idsOf, secretsOf, signWebhook, type World } from "./world";

/**
 * Property-based fuzzing of every route (SPEC §4: bad input of any kind answers 4xx with a clear message, never 500,
 * never writes). A case starts from the route fixture's valid request and applies one to three hostile mutations:
 * path and query parameters (wrong types, NaN-like and huge numbers, unicode and control characters, SQL
 * meta-characters, very long strings, other organizations' ids, repeated parameters, broken percent-encoding) and
 * bodies (any field replaced or removed, nested paths included, non-object bodies, malformed and duplicate-key JSON,
 * 10k-deep nesting, bodies over 1 MiB, invalid UTF-8, wrong content types). Properties, per case: no 5xx; a 4xx is
 * problem+json and leaves the write counter where it was; no answer carries another organization's ids or anyone's
 * secrets. Per route, the other organization's rows hash the same before and after.
 */

/** Cases per route: 1000 by default (CI); `FUZZ_RUNS` raises (or, locally, lowers) it. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

export type RouteFuzzReport = { route: string; cases: number; statuses: Record<string, number>; maxMs: number; totalMs: number; slowest: string };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type PathKey = string | number;

type Mutation =
  | { kind: "path"; name: string; value: string; raw: boolean }
  | { kind: "query-set"; name: string; value: string }
  | { kind: "query-repeat"; name: string; value: string }
  | { kind: "query-remove"; name: string }
  | { kind: "query-pair"; names: [string, string]; values: [string, string] }
  | { kind: "query-raw"; text: string }
  | { kind: "body-set"; path: PathKey[]; value: unknown }
  | { kind: "body-delete"; path: PathKey[] }
  | { kind: "body-replace"; value: unknown }
  | { kind: "body-raw"; body: string | Uint8Array; contentType?: string | null }
  | { kind: "content-type"; value: string | null };

/** A request ready to send (after mutations). */
type Built = { url: string; body: string | Uint8Array | null; contentType: string | null | undefined };

// ---------------------------------------------------------------- hostile values

const NAN_LIKE = ["NaN", "-NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e-400", "-0", "0", "-1", "1.5", "9007199254740993", "1".repeat(40), "0x10", "0b1", "0o7", "1_000", " 7", "7 ", "+1", "1e1", "", " ", "null", "undefined", "true", "false", "[]", "{}", "[object Object]"];
const SQL_META = ["'", "''", '"', "\\", "%", "_", "' OR '1'='1", "'; DROP TABLE calls; --", "1; SELECT pg_sleep(10)", "$1", "$$", "E'\\x00'", "/*", "--", ";", "\\x00", "%00", "::uuid", "') OR ('a'='a", "1' UNION SELECT key_hash FROM api_keys --"];
const UNICODE = ["\u202e", "\ufeff", "\u200b", "𝕋𝕒𝕝𝕝𝕪", "😀", "\ud800", "\udfff", "a\ud800b", "ä", "İ", "ß", "\u0000", "a\u0000b", "\u0085", "\u2028", "\r\n", "\t", "\u001b[31m"];
const DATES = ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "+275760-09-13T00:00:00Z", "2026-03-08T02:30:00-05:00", "2026-03-01", "2026-03-01T00:00:00", "2026-03-01T24:00:00Z", "2026-03-01T00:00:00.1234567891Z", "2026-03-01T00:00:00+25:00", "2026-03-01T00:00:60Z", "2026-W10-1"];

const hostileString = (world: World): fc.Arbitrary<string> => {
  const ids = [...idsOf(world.foreign), ...idsOf(world.own), "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", world.own.callId.toUpperCase(), world.own.callId.replaceAll("-", ""), `{${world.own.callId}}`, `${world.own.callId} `];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NAN_LIKE) },
    { weight: 3, arbitrary: fc.constantFrom(...SQL_META) },
    { weight: 2, arbitrary: fc.constantFrom(...UNICODE) },
    { weight: 3, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom(...DATES) },
    { weight: 1, arbitrary: fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()) },
    { weight: 2, arbitrary: fc.oneof(fc.integer().map(String), fc.double().map(String), fc.bigInt().map(String)) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constantFrom(201, 257, 2_001, 10_000, 100_000).chain((n) => fc.constantFrom("a".repeat(n), "😀".repeat(n), "9".repeat(n), "%".repeat(n), `+1${"5".repeat(n)}`)) },
  );
};

const NUMBERS = [0, -1, -0, 0.5, 1.5, 1e308, -1e308, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 5e-324, 70, 100, 101, 1000, 1001, 604_801, 2_000_000_001];

/** Nested arrays or objects `depth` deep, as JSON text (built as text: no recursion on either side of the test). */
export function deepJson(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

const hostileJson = (world: World): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 5, arbitrary: hostileString(world) },
    { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(hostileString(world), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom({}, [], [[]], { __proto__: null, polluted: true }, JSON.parse('{"__proto__":{"admin":true}}'), { constructor: { prototype: { x: 1 } } }) },
    { weight: 1, arbitrary: fc.constantFrom(100, 1_000).map((d) => JSON.parse(deepJson(d, "array")) as unknown) },
  );

const CONTENT_TYPES = [null, "", "text/plain", "text/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "application/json; charset=utf-16", "application/json;charset=latin1", "application/problem+json", "application/merge-patch+json", "APPLICATION/JSON", "application/jsonx", "application/json, text/plain", "*/*", 'application/json; boundary="', "application/octet-stream"];

/** Raw bodies: broken JSON, duplicate keys, deep nesting, over 1 MiB, invalid UTF-8, other encodings. */
const rawBodies = (baseText: string): fc.Arbitrary<Mutation> => {
  const utf8 = new TextEncoder().encode(baseText);
  return fc.oneof(
    fc.constantFrom("", " ", "{", "}", "[", '{"a":', "nul", "NaN", "Infinity", '{"a":NaN}', "{'a':1}", '{"a":1,}', "\u0000", '{"a":1e400}', "[1,2,3]", '"text"', "42", "null", "true").map((body) => ({ kind: "body-raw" as const, body })),
    fc.nat({ max: Math.max(0, baseText.length - 1) }).map((n) => ({ kind: "body-raw" as const, body: baseText.slice(0, n) })),
    fc.tuple(fc.constantFrom(...Object.keys(safeParse(baseText) ?? { a: 1 }), "x"), fc.constantFrom('"x"', "1", "null", "[]", '{"a":1}')).map(([key, value]) => ({
      kind: "body-raw" as const,
      // the same key twice: the second wins in JSON.parse; either way the answer must be a clean 2xx/4xx
      body: baseText.startsWith("{") && baseText.length > 2 ? `${baseText.slice(0, -1)},${JSON.stringify(key)}:${value}}` : `{${JSON.stringify(key)}:1,${JSON.stringify(key)}:${value}}`,
    })),
    fc.tuple(fc.constantFrom(1_000, 10_000, 100_000), fc.constantFrom<"array" | "object">("array", "object"), fc.boolean()).map(([depth, kind, inside]) => ({
      kind: "body-raw" as const,
      body: inside && baseText.startsWith("{") && baseText.length > 2 ? `${baseText.slice(0, -1)},"deep":${deepJson(depth, kind)}}` : deepJson(depth, kind),
    })),
    fc.constantFrom(1024 * 1024 - 64, 1024 * 1024 + 1, 3 * 1024 * 1024).map((size) => ({
      kind: "body-raw" as const,
      body: baseText.startsWith("{") && baseText.length > 2 ? `${baseText.slice(0, -1)},"pad":"${"x".repeat(size)}"}` : `{"pad":"${"x".repeat(size)}"}`,
    })),
    fc.tuple(fc.nat({ max: Math.max(0, utf8.length - 1) }), fc.constantFrom(0xff, 0xfe, 0xc0, 0x80, 0xed)).map(([at, byte]) => {
      const bytes = new Uint8Array(utf8);
      if (bytes.length) bytes[at] = byte;
      return { kind: "body-raw" as const, body: bytes };
    }),
    fc.constant({ kind: "body-raw" as const, body: `\ufeff${baseText}` }),
    fc.constant({ kind: "body-raw" as const, body: new Uint8Array(Buffer.from(baseText, "utf16le")), contentType: "application/json; charset=utf-16" }),
    fc.constant({ kind: "body-raw" as const, body: "phoneNumber=%2B14155550123&direction=inbound", contentType: "application/x-www-form-urlencoded" }),
  );
};

function safeParse(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Every path into a JSON value (objects' keys and arrays' indexes), the root excluded. */
function pathsOf(value: unknown, prefix: PathKey[] = []): PathKey[][] {
  if (value === null || typeof value !== "object") return [];
  const entries: [PathKey, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

/** A copy of `root` with the value at `path` set (or removed); missing or primitive containers on the way become objects. */
function setAt(root: unknown, path: PathKey[], value: unknown, remove: boolean): unknown {
  const isContainer = (v: unknown): v is Record<PathKey, unknown> => v !== null && typeof v === "object";
  const copy = isContainer(root) ? (structuredClone(root) as Record<PathKey, unknown>) : {};
  let node = copy;
  for (const key of path.slice(0, -1)) {
    if (!isContainer(node[key])) {
      if (remove) return copy;
      Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
    }
    node = node[key] as Record<PathKey, unknown>;
  }
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(node) && typeof last === "number") node.splice(last, 1);
    else delete node[last];
  } else {
    // defineProperty: "__proto__" becomes an own key, as JSON.parse would make it
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** The mutations that fit an operation and its valid request. */
function mutations(op: Operation, base: RequestSpec, world: World, signed: boolean): fc.Arbitrary<Mutation> {
  const str = hostileString(world);
  const options: fc.WeightedArbitrary<Mutation>[] = [];
  if (op.pathParams.length)
    options.push({
      // the webhook's only parameter is whose secret checks the signature: a few cases suffice, the body is what it parses
      weight: signed ? 1 : 4,
      arbitrary: fc.record({ kind: fc.constant("path" as const), name: fc.constantFrom(...op.pathParams), value: str, raw: fc.nat({ max: 9 }).map((n) => n === 0) }),
    });
  const queryNames = [...op.queryParams, "unknown", "__proto__", "constructor", "days[]", "limit[0]"];
  options.push(
    { weight: op.queryParams.length ? 4 : 1, arbitrary: fc.record({ kind: fc.constant("query-set" as const), name: fc.constantFrom(...queryNames), value: str }) },
    { weight: op.queryParams.length ? 2 : 1, arbitrary: fc.record({ kind: fc.constant("query-repeat" as const), name: fc.constantFrom(...queryNames), value: str }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("%", "%E0%A4%A", "a=%zz", "=", "&&&", "days", "days=", "from=2026-03-01T00%3A00%3A00Z&from=x", "x=" + "y".repeat(20_000), "%00=%00").map((text) => ({ kind: "query-raw" as const, text })),
    },
  );
  if (op.queryParams.length >= 2)
    // two parameters at once (from and to): some inputs are wrong only together, such as a window of eight millennia
    options.push({
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("query-pair" as const),
        names: fc.tuple(fc.constantFrom(...op.queryParams), fc.constantFrom(...op.queryParams)),
        values: fc.tuple(fc.oneof(fc.constantFrom(...DATES), str), fc.oneof(fc.constantFrom(...DATES), str)),
      }),
    });
  if (base.query?.length) options.push({ weight: 1, arbitrary: fc.constantFrom(...base.query.map(([k]) => k)).map((name) => ({ kind: "query-remove" as const, name })) });
  const takesBody = op.bodyProperties !== null;
  if (takesBody) {
    const paths = pathsOf(base.body);
    const names = [...new Set([...(op.bodyProperties ?? []), "unknownField", "__proto__", "constructor", "orgId", "id"])];
    options.push(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("body-set" as const), path: fc.constantFrom(...names).map((n) => [n] as PathKey[]), value: hostileJson(world) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("body-replace" as const), value: hostileJson(world) }) },
      { weight: 3, arbitrary: rawBodies(JSON.stringify(base.body ?? {})) },
      { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((value) => ({ kind: "content-type" as const, value })) },
    );
    if (paths.length)
      options.push(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant("body-set" as const), path: fc.constantFrom(...paths), value: hostileJson(world) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant("body-delete" as const), path: fc.constantFrom(...paths) }) },
      );
  } else if (op.method !== "GET") {
    // a route without a body must ignore or refuse one, whatever it is
    options.push({ weight: 1, arbitrary: rawBodies("{}") });
  }
  return fc.oneof(...options);
}

function build(op: Operation, base: RequestSpec, list: Mutation[]): Built {
  const params = { ...(base.params ?? {}) };
  const rawParams = new Set<string>();
  let query: [string, string][] = [...(base.query ?? [])];
  let rawQuery = "";
  let body: unknown = base.body;
  let rawBody: string | Uint8Array | undefined;
  let contentType: string | null | undefined;
  for (const m of list) {
    switch (m.kind) {
      case "path":
        params[m.name] = m.value;
        if (m.raw) rawParams.add(m.name);
        else rawParams.delete(m.name);
        break;
      case "query-set":
        query = [...query.filter(([k]) => k !== m.name), [m.name, m.value]];
        break;
      case "query-repeat":
        query = [...query, [m.name, m.value], [m.name, m.value === "1" ? "2" : "1"]];
        break;
      case "query-pair":
        query = [...query.filter(([k]) => !m.names.includes(k)), [m.names[0], m.values[0]], [m.names[1], m.values[1]]];
        break;
      case "query-remove":
        query = query.filter(([k]) => k !== m.name);
        break;
      case "query-raw":
        rawQuery = m.text;
        break;
      case "body-set":
        body = setAt(body ?? {}, m.path, m.value, false);
        rawBody = undefined;
        break;
      case "body-delete":
        body = setAt(body, m.path, undefined, true);
        rawBody = undefined;
        break;
      case "body-replace":
        body = m.value;
        rawBody = undefined;
        break;
      case "body-raw":
        rawBody = m.body;
        if (m.contentType !== undefined) contentType = m.contentType;
        break;
      case "content-type":
        contentType = m.value;
        break;
    }
  }
  let url = urlOf(op.path, { params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, rawParams.has(k) ? `\u0001${k}` : v])), query });
  for (const name of rawParams) url = url.replace(encodeURIComponent(`\u0001${name}`), params[name]!);
  if (rawQuery) url += (url.includes("?") ? "&" : "?") + rawQuery;
  const text = rawBody ?? (body === undefined ? null : JSON.stringify(body) ?? "null");
  return { url, body: op.method === "GET" ? null : text, contentType };
}

function decodeSafely(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

const describeCase = (op: Operation, list: Mutation[], built: Built) =>
  `${op.method} ${built.url.slice(0, 300)} | content-type ${String(built.contentType)} | body ${typeof built.body === "string" ? built.body.slice(0, 300) : built.body ? `<${built.body.length} bytes>` : "none"} | mutations ${JSON.stringify(list, (_k, v) => (typeof v === "string" && v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v instanceof Uint8Array ? `<bytes ${v.length}>` : v)).slice(0, 800)}`;

/** Per world: strings of another organization that the fuzzer has itself sent (and may have stored) as its own data. */
const carriedStrings = new WeakMap<World, Set<string>>();
function carriedBy(world: World): Set<string> {
  let set = carriedStrings.get(world);
  if (!set) carriedStrings.set(world, (set = new Set()));
  return set;
}

/** A case slower than this fails: far above any honest request here (tens of ms), far below a CPU burn (seconds). */
const SLOW_CASE_MS = 5_000;

/** The counter is read at least this often, whatever the cases did. */
const CHECK_EVERY = 25;

/** How many statements the request ran (its request log line); undefined when the line is missing. */
function statementsOf(t: TestApp, res: Sent): number | undefined {
  const id = res.headers.get("x-request-id");
  for (let i = t.logs.length - 1; i >= Math.max(0, t.logs.length - 20); i--) {
    const line = t.logs[i]!;
    if (line.requestId === id && (line.msg === "request" || line.msg === "slow request")) return line.statements as number;
  }
  return undefined;
}

/** Fuzzes one operation with `runs` cases; answers what it saw. Throws (through fast-check) on the first broken property. */
export async function fuzzRoute(t: TestApp, world: World, op: Operation, runs = FUZZ_RUNS): Promise<RouteFuzzReport> {
  const fixture = fixtureFor(op);
  const db = t.database.db;
  if (fixture.access === "signature") {
    // earlier routes' fuzzing may have changed the secret (PATCH /api/settings) or revoked the write key (the admin
    // routes): deliveries are signed with the world's secret, set here directly
    await db.update(organizations).set({ webhookSecret: world.own.webhookSecret }).where(eq(organizations.id, world.own.orgId));
  }
  const base = await fixture.valid(world, t);
  const key = fixture.access === "admin" ? world.adminKey : fixture.access === "read" ? world.own.readKey : fixture.access === "write" ? world.own.writeKey : null;
  const forbidden = [...idsOf(world.foreign), ...secretsOf(world.foreign), ...secretsOf(world.own), world.adminKey];
  const orgScoped = fixture.access !== "admin" && fixture.access !== "public";
  const foreignBefore = orgScoped ? await orgChecksum(db, world.foreign.orgId) : undefined;
  const signaturesSent = new Set<string>();
  const carried = carriedBy(world);
  const report: RouteFuzzReport = { route: op.id, cases: 0, statuses: {}, maxMs: 0, totalMs: 0, slowest: "" };

  const signatures = fc.oneof(
    { weight: 17, arbitrary: fc.constant<"sign" | "foreign" | "old" | "none" | string>("sign") },
    { weight: 3, arbitrary: fc.oneof(fc.constantFrom("foreign", "old", "none"), hostileString(world)) },
  );
  const property = fc.asyncProperty(fc.array(mutations(op, base, world, fixture.access === "signature"), { minLength: 1, maxLength: 3 }), signatures, async (list, signature) => {
    const built = build(op, base, list);
    const what = describeCase(op, list, built);
    const headers: Record<string, string> = {};
    if (fixture.access === "signature") {
      const text = typeof built.body === "string" ? built.body : built.body ? new TextDecoder().decode(built.body) : "";
      const now = Math.floor(Date.now() / 1000);
      const header =
        signature === "sign" ? signWebhook(world.own.webhookSecret, text, now)
        : signature === "foreign" ? signWebhook(world.foreign.webhookSecret, text, now)
        : signature === "old" ? signWebhook(world.own.webhookSecret, text, now - 3600)
        : signature === "none" ? null
        : signature;
      if (header !== null) {
        try {
          new Headers({ "tally-signature": header });
          headers["tally-signature"] = header;
          if (header.includes("v1=")) signaturesSent.add(header);
        } catch {
          // not a valid header value: no client can send it
        }
      }
    }
    let res: Sent;
    try {
      res = await send(t.app, op.method, built.url, { authorization: key ? bearer(key) : null, headers, body: built.body, contentType: built.contentType });
    } catch (error) {
      if (error instanceof TypeError && /URL|header|Request/i.test(error.message)) return; // not a request any client could send
      throw error;
    }
    report.cases += 1;
    report.statuses[res.status] = (report.statuses[res.status] ?? 0) + 1;
    report.totalMs += res.ms;
    if (res.ms > report.maxMs) {
      report.maxMs = res.ms;
      report.slowest = what.slice(0, 300);
    }
    // Did it write? Statements go through the request's counted handle; the request log line says how many ran. A case
    // that ran none cannot have written through it, so the counter is read only after cases that did (exact, per case),
    // and every CHECK_EVERY cases whatever they did: a write by any other path cannot go unnoticed either.
    recent.push(what);
    const statements = statementsOf(t, res);
    if (statements !== 0 || recent.length >= CHECK_EVERY) {
      const before = writes;
      writes = await writeCount(db);
      if (statements === 0 && writes !== before)
        throw new Error(`the database changed during cases that ran no statement through the request's handle (an uncounted write path):\n${recent.join("\n")}`);
      if (res.status >= 400) expect(writes, `a refused request wrote to the database: ${describeAnswer(what, res)}`).toBe(before);
      recent = [];
    }
    expect(res.status, describeAnswer(what, res)).toBeLessThan(500);
    if (res.status >= 400) expectProblem(res, what);
    expect(res.ms, `no input may cost seconds (a cheap denial of service): ${describeAnswer(what, res)}`).toBeLessThan(SLOW_CASE_MS);
    if (orgScoped) {
      // a string the fuzzer itself sent as the acting organization's data (a name that happens to be another's id) may
      // come back, now or from storage later; anything else of another organization may not
      const sent = `${decodeSafely(built.url)}\n${typeof built.body === "string" ? built.body : ""}`.toLowerCase();
      for (const f of forbidden) if (sent.includes(f.toLowerCase())) carried.add(f);
      expectNoneOf(res, forbidden.filter((f) => !carried.has(f)), what);
    }
  });
  let writes = await writeCount(db);
  let recent: string[] = [];
  await fc.assert(property, { numRuns: runs, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) });
  expect(await writeCount(db), `the database changed during the last cases, which ran no statement:\n${recent.join("\n")}`).toBe(writes);
  // The webhook is authenticated by signature, not by key: a case that signs with the other organization's secret
  // and names that organization in the path is a valid delivery for it, so its rows may change legitimately.
  if (foreignBefore && fixture.access !== "signature")
    expect(await orgChecksum(db, world.foreign.orgId), `${op.id}: fuzzing one organization changed another's rows`).toEqual(foreignBefore);
  // no key, secret or signature of this route's cases in any log line; then the lines go (1000 cases of long paths add up)
  const logText = t.logs.map((line) => JSON.stringify(line)).join("\n");
  for (const secret of [...secretsOf(world.own), ...secretsOf(world.foreign), world.adminKey, ...signaturesSent])
    expect(logText.includes(secret), `${op.id}: a log line carries a secret (${secret.slice(0, 12)}…)`).toBe(false);
  t.logs.splice(0, t.logs.length);
  return report;
}
