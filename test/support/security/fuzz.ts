import { eq } from "drizzle-orm";
import fc from "fast-check";
import { expect } from "vitest";
import { organizations } from "../../../drizzle/schema";
import type { TestApp } from "../app";
import { MAX_BODY_BYTES } from "../../../functions/app";
import { testTarget } from "../worker-target";
import { orgChecksum, writeCount } from "./fingerprint";
import { bearer, describeAnswer, expectNoneOf, expectProblem, send, type Sent } from "./http";
import { fixtureFor, urlOf, type Operation, type RequestSpec } from "./route-table";
import { CONTENT_TYPES, EXTREME_INSTANTS, hostileJson, hostileString, rawBodies, type RawBody } from "./hostile-values";
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
  | RawBody
  | { kind: "content-type"; value: string | null };

/**
 * On the worker target, workerd's HTTP server answers a request line and headers over its size limit itself (431 or
 * 414, plain text) before the Worker runs, as Cloudflare's edge does over its own limits; the app never sees it.
 */
const refusedByTheRuntime = (res: Sent) => testTarget() === "worker" && (res.status === 431 || res.status === 414) && !res.headers.has("x-request-id");

/**
 * On the worker target, a body over the API's limit is refused (413) before it is read, and workerd then closes the
 * connection with the rest of the upload unread: the reset can reach this client before the answer does (Cloudflare's
 * edge reads the upload and delivers the 413). Only that case is let through, and only when nothing was written.
 */
function resetWhileUploadingTooMuch(error: unknown, body: string | Uint8Array | null | undefined): boolean {
  if (testTarget() !== "worker" || body === null || body === undefined) return false;
  const bytes = typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return bytes > MAX_BODY_BYTES && (code === "ECONNRESET" || code === "EPIPE");
}

/** A request ready to send (after mutations). */
type Built = { url: string; body: string | Uint8Array | null; contentType: string | null | undefined };

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
      arbitrary: fc.record({
        kind: fc.constant("path" as const),
        name: fc.constantFrom(...op.pathParams),
        value: str,
        raw: fc.nat({ max: 9 }).map((n) => n === 0),
      }),
    });
  const queryNames = [...op.queryParams, "unknown", "__proto__", "constructor", "days[]", "limit[0]"];
  options.push(
    {
      weight: op.queryParams.length ? 4 : 1,
      arbitrary: fc.record({ kind: fc.constant("query-set" as const), name: fc.constantFrom(...queryNames), value: str }),
    },
    {
      weight: op.queryParams.length ? 2 : 1,
      arbitrary: fc.record({ kind: fc.constant("query-repeat" as const), name: fc.constantFrom(...queryNames), value: str }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("%", "%E0%A4%A", "a=%zz", "=", "&&&", "days", "days=", "from=2026-03-01T00%3A00%3A00Z&from=x", "x=" + "y".repeat(20_000), "%00=%00")
        .map((text) => ({ kind: "query-raw" as const, text })),
    },
  );
  if (op.queryParams.length >= 2)
    // two parameters at once (from and to): some inputs are wrong only together, such as a window of eight millennia
    options.push({
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("query-pair" as const),
        names: fc.tuple(fc.constantFrom(...op.queryParams), fc.constantFrom(...op.queryParams)),
        values: fc.tuple(
          fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EXTREME_INSTANTS) }, { weight: 1, arbitrary: str }),
          fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...EXTREME_INSTANTS) }, { weight: 1, arbitrary: str }),
        ),
      }),
    });
  if (base.query?.length)
    options.push({ weight: 1, arbitrary: fc.constantFrom(...base.query.map(([k]) => k)).map((name) => ({ kind: "query-remove" as const, name })) });
  const takesBody = op.bodyProperties !== null;
  if (takesBody) {
    const paths = pathsOf(base.body);
    const names = [...new Set([...(op.bodyProperties ?? []), "unknownField", "__proto__", "constructor", "orgId", "id"])];
    options.push(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant("body-set" as const),
          path: fc.constantFrom(...names).map((n) => [n] as PathKey[]),
          value: hostileJson(world),
        }),
      },
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
  const text = rawBody ?? (body === undefined ? null : (JSON.stringify(body) ?? "null"));
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
  const key =
    fixture.access === "admin" ? world.adminKey : fixture.access === "read" ? world.own.readKey : fixture.access === "write" ? world.own.writeKey : null;
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
  const property = fc.asyncProperty(
    fc.array(mutations(op, base, world, fixture.access === "signature"), { minLength: 1, maxLength: 3 }),
    signatures,
    async (list, signature) => {
      const built = build(op, base, list);
      const what = describeCase(op, list, built);
      const headers: Record<string, string> = {};
      if (fixture.access === "signature") {
        const text = typeof built.body === "string" ? built.body : built.body ? new TextDecoder().decode(built.body) : "";
        const now = Math.floor(Date.now() / 1000);
        // "foreign" is the secret of an organization the path does not name: when the fuzzed path names the other
        // organization itself (any spelling), its own secret would be a genuine delivery to it, so the acting one's is used
        const pathNamesForeign = decodeSafely(built.url).toLowerCase().includes(world.foreign.orgId.toLowerCase());
        const foreignSecret = pathNamesForeign ? world.own.webhookSecret : world.foreign.webhookSecret;
        const header =
          signature === "sign"
            ? signWebhook(world.own.webhookSecret, text, now)
            : signature === "foreign"
              ? signWebhook(foreignSecret, text, now)
              : signature === "old"
                ? signWebhook(world.own.webhookSecret, text, now - 3600)
                : signature === "none"
                  ? null
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
        if (resetWhileUploadingTooMuch(error, built.body)) {
          // nothing was answered to check: what the case may not do is write
          const before = writes;
          writes = await writeCount(db);
          expect(writes, `a body over the limit wrote to the database: ${what}`).toBe(before);
          return;
        }
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
          throw new Error(
            `the database changed during cases that ran no statement through the request's handle (an uncounted write path):\n${recent.join("\n")}`,
          );
        if (res.status >= 400) expect(writes, `a refused request wrote to the database: ${describeAnswer(what, res)}`).toBe(before);
        recent = [];
      }
      expect(res.status, describeAnswer(what, res)).toBeLessThan(500);
      if (res.status >= 400 && !refusedByTheRuntime(res)) expectProblem(res, what);
      expect(res.ms, `no input may cost seconds (a cheap denial of service): ${describeAnswer(what, res)}`).toBeLessThan(SLOW_CASE_MS);
      if (orgScoped) {
        // a string the fuzzer itself sent as the acting organization's data (a name that happens to be another's id) may
        // come back, now or from storage later; anything else of another organization may not
        const sent = `${decodeSafely(built.url)}\n${typeof built.body === "string" ? built.body : ""}`.toLowerCase();
        for (const f of forbidden) if (sent.includes(f.toLowerCase())) carried.add(f);
        expectNoneOf(
          res,
          forbidden.filter((f) => !carried.has(f)),
          what,
        );
      }
    },
  );
  let writes = await writeCount(db);
  let recent: string[] = [];
  await fc.assert(property, { numRuns: runs, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) });
  expect(await writeCount(db), `the database changed during the last cases, which ran no statement:\n${recent.join("\n")}`).toBe(writes);
  if (foreignBefore) expect(await orgChecksum(db, world.foreign.orgId), `${op.id}: fuzzing one organization changed another's rows`).toEqual(foreignBefore);
  // no key, secret or signature of this route's cases in any log line; then the lines go (1000 cases of long paths add up)
  const logText = t.logs.map((line) => JSON.stringify(line)).join("\n");
  for (const secret of [...secretsOf(world.own), ...secretsOf(world.foreign), world.adminKey, ...signaturesSent])
    expect(logText.includes(secret), `${op.id}: a log line carries a secret (${secret.slice(0, 12)}…)`).toBe(false);
  t.logs.splice(0, t.logs.length);
  return report;
}
