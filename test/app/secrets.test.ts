import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../functions/app";
import { rows } from "../../functions/db/database";
import { timingSafeEqual } from "../../functions/lib/api-keys";
import { memoryLogger } from "../../functions/lib/logger";
import { ADMIN_KEY, createTestApp } from "../support/app";
import { installWriteCounter } from "../support/security/fingerprint";
import { operationsOf } from "../support/security/route-table";
import { routeSuite, runCases, type SuiteContext } from "../support/security/tenancy-suite";
import { buildWorld, secretsOf } from "../support/security/world";

/**
 * SPEC §2/§3 secrets: API keys are stored only as SHA-256 hashes and compared without timing leaks; no key, webhook
 * secret or signature reaches a log line or anything printed, over a full pass of the security suite (every route's
 * auth, scope, tenancy and webhook-signature cases).
 */

let ctx: SuiteContext;
const printed: string[] = [];

beforeAll(async () => {
  const t = await createTestApp({ rateLimit: false });
  await installWriteCounter(t.database.db);
  ctx = { t, w: await buildWorld(t, ADMIN_KEY), db: t.database.db, sent: new Set() };
});
afterAll(async () => {
  vi.restoreAllMocks();
  await ctx?.t.close();
});

/** The key material in what the suite sent: bearer tokens and signature hex long enough to be a secret. */
function secretsSent(): string[] {
  const out = new Set<string>([...secretsOf(ctx.w.own), ...secretsOf(ctx.w.foreign), ADMIN_KEY]);
  for (const value of ctx.sent) {
    const token = /^Bearer\s+(\S+)$/i.exec(value)?.[1];
    if (token && token.length >= 16 && /^tly_|^test-admin/.test(token)) out.add(token);
    for (const [, hex] of value.matchAll(/v1=([0-9a-f]{64})/gi)) out.add(hex!.toLowerCase());
  }
  return [...out];
}

describe("secrets", () => {
  it("appear in no log line and nothing printed during a full pass of the security suite", async () => {
    const capture = (...args: unknown[]) => void printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    for (const method of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, method).mockImplementation(capture);
    const write = (chunk: unknown) => (printed.push(String(chunk)), true);
    vi.spyOn(process.stdout, "write").mockImplementation(write as typeof process.stdout.write);
    vi.spyOn(process.stderr, "write").mockImplementation(write as typeof process.stderr.write);
    try {
      for (const op of operationsOf(ctx.t.app)) {
        const suite = routeSuite(ctx, op);
        await runCases(ctx, [...suite.auth, ...suite.scope, ...suite.tenancy]);
      }
    } finally {
      vi.restoreAllMocks();
    }
    const secrets = secretsSent();
    expect(secrets.length, "the pass sent keys and signatures").toBeGreaterThan(20);
    const logText = ctx.t.logs.map((line) => JSON.stringify(line)).join("\n");
    expect(ctx.t.logs.length, "the pass was logged").toBeGreaterThan(100);
    const output = printed.join("\n");
    for (const secret of secrets) {
      expect(logText.includes(secret), `a log line carries ${secret.slice(0, 8)}…`).toBe(false);
      expect(output.includes(secret), `printed output carries ${secret.slice(0, 8)}…`).toBe(false);
    }
  }, 600_000);

  it("store API keys only as their SHA-256 hash: no table holds a key's text", async () => {
    const keys = [ctx.w.own.writeKey, ctx.w.own.readKey, ctx.w.foreign.writeKey, ctx.w.foreign.readKey];
    const stored = await rows<{ key_hash: string; prefix: string }>(ctx.db, sql`SELECT key_hash, prefix FROM api_keys`);
    for (const key of keys) {
      const hash = createHash("sha256").update(key).digest("hex");
      expect(
        stored.some((r) => r.key_hash === hash),
        "the key's hash is stored",
      ).toBe(true);
      // the display prefix (`tly_w_` and 4 characters) is all of a key kept in clear
      expect(stored.find((r) => r.key_hash === hash)!.prefix.length).toBeLessThanOrEqual(10);
    }
    const tables = await rows<{ name: string }>(
      ctx.db,
      sql`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    );
    for (const { name } of tables) {
      const [dump] = await rows<{ text: string | null }>(ctx.db, sql.raw(`SELECT string_agg(t::text, E'\\n') AS text FROM "${name}" t`));
      for (const key of keys) expect(dump?.text?.includes(key) ?? false, `table ${name} holds an API key in clear`).toBe(false);
    }
  });

  it("are compared in constant time: timingSafeEqual reads every byte of both, whatever differs", () => {
    const key = ctx.w.own.writeKey;
    // every byte read of either side, through the encoder timingSafeEqual works on
    const encode = TextEncoder.prototype.encode;
    let reads: string[] = [];
    let encoded = 0;
    vi.spyOn(TextEncoder.prototype, "encode").mockImplementation(function (this: TextEncoder, input?: string) {
      const bytes = encode.call(this, input);
      const side = encoded++ === 0 ? "a" : "b";
      return new Proxy(bytes, {
        get(target, prop) {
          if (typeof prop === "string" && /^\d+$/.test(prop)) reads.push(`${side}${prop}`);
          return Reflect.get(target, prop, target);
        },
      });
    });
    const readsOf = (a: string, b: string) => {
      reads = [];
      encoded = 0;
      const equal = timingSafeEqual(a, b);
      return { equal, reads: [...reads] };
    };
    try {
      const same = readsOf(key, key);
      expect(same.equal).toBe(true);
      const every = Array.from({ length: key.length }, (_, i) => [`a${i}`, `b${i}`]).flat();
      expect(new Set(same.reads), "reads every byte of both").toEqual(new Set(every));
      for (let i = 0; i < key.length; i++) {
        const changed = key.slice(0, i) + (key[i] === "x" ? "y" : "x") + key.slice(i + 1);
        const differing = readsOf(changed, key);
        expect(differing.equal, `a difference at ${i}`).toBe(false);
        expect(differing.reads, `the same reads, in the same order, with a difference at ${i}`).toEqual(same.reads);
      }
      // a length difference is not a shortcut either: every byte of the longer side is read
      const shorter = readsOf(key, key.slice(0, -1));
      expect(shorter.equal).toBe(false);
      expect(shorter.reads.filter((r) => r.startsWith("a"))).toHaveLength(key.length);
    } finally {
      vi.mocked(TextEncoder.prototype.encode).mockRestore();
    }
    expect(timingSafeEqual(key, `${key}x`)).toBe(false);
    expect(timingSafeEqual("", key)).toBe(false);
    expect(timingSafeEqual("", "")).toBe(true);
  });

  it("never reach the error log through a failed query's bound values", async () => {
    const secret = `whsec_${crypto.randomUUID()}`;
    let error: unknown;
    try {
      await ctx.db.execute(sql`SELECT ${secret}::int`);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    const { message, stack } = error as Error;
    expect(`${message}\n${stack}`, "drizzle's message carries the parameters (what the redaction is for)").toContain(secret);

    // the same kind of failure inside a request, answered by the app's error handler and logged as an unhandled error
    const logger = memoryLogger();
    const app = createApp({ ...ctx.t.deps, logger });
    app.get("/test/failing-query", async (c) => {
      await c.var.db.execute(sql`SELECT length(${secret}::text) / 0`); // division by zero: no mapped database error
      return c.text("unreachable");
    });
    const res = await app.request("/test/failing-query");
    const answer = await res.text();
    expect(res.status, answer).toBe(500);
    expect(answer).not.toContain(secret);
    const logged = logger.lines.find((line) => line.msg === "unhandled error");
    expect(logged, JSON.stringify(logger.lines)).toBeDefined();
    expect(String(logged!.error)).toContain("Failed query");
    expect(JSON.stringify(logger.lines), "a log line carries the bound secret").not.toContain(secret);
  });
});
