import fc from "fast-check";
import { idsOf, type World } from "./world";

/**
 * The hostile values the fuzz suites draw from: wrong types, NaN-like and huge numbers, unicode and control
 * characters, SQL meta-characters, very long strings, other organizations' ids, impossible and extreme dates, and raw
 * bodies (broken or duplicate-key JSON, deep nesting, over 1 MiB, invalid UTF-8, other encodings, wrong content types).
 */

/** A raw request body, sent as is (optionally with its own content type). */
export type RawBody = { kind: "body-raw"; body: string | Uint8Array; contentType?: string | null };

export const NAN_LIKE = [
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "-1e309",
  "1e-400",
  "-0",
  "0",
  "-1",
  "1.5",
  "9007199254740993",
  "1".repeat(40),
  "0x10",
  "0b1",
  "0o7",
  "1_000",
  " 7",
  "7 ",
  "+1",
  "1e1",
  "",
  " ",
  "null",
  "undefined",
  "true",
  "false",
  "[]",
  "{}",
  "[object Object]",
];
export const SQL_META = [
  "'",
  "''",
  '"',
  "\\",
  "%",
  "_",
  "' OR '1'='1",
  "'; DROP TABLE calls; --",
  "1; SELECT pg_sleep(10)",
  "$1",
  "$$",
  "E'\\x00'",
  "/*",
  "--",
  ";",
  "\\x00",
  "%00",
  "::uuid",
  "') OR ('a'='a",
  "1' UNION SELECT key_hash FROM api_keys --",
];
export const UNICODE = [
  "\u202e",
  "\ufeff",
  "\u200b",
  "𝕋𝕒𝕝𝕝𝕪",
  "😀",
  "\ud800",
  "\udfff",
  "a\ud800b",
  "ä",
  "İ",
  "ß",
  "\u0000",
  "a\u0000b",
  "\u0085",
  "\u2028",
  "\r\n",
  "\t",
  "\u001b[31m",
];
export const DATES = [
  "2026-02-30T00:00:00Z",
  "2026-13-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "1969-12-31T23:59:59Z",
  "1970-01-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "+275760-09-13T00:00:00Z",
  "2026-03-08T02:30:00-05:00",
  "2026-03-01",
  "2026-03-01T00:00:00",
  "2026-03-01T24:00:00Z",
  "2026-03-01T00:00:00.1234567891Z",
  "2026-03-01T00:00:00+25:00",
  "2026-03-01T00:00:60Z",
  "2026-W10-1",
];

/** Valid instants far apart: together as from and to they make the widest windows a client can ask for. */
export const EXTREME_INSTANTS = [
  "1970-01-01T00:00:00Z",
  "9999-12-31T23:59:59Z",
  "2000-01-01T00:00:00+14:00",
  "2026-03-08T02:30:00-05:00",
  "2099-12-31T23:59:59.999Z",
];

export const hostileString = (world: World): fc.Arbitrary<string> => {
  const ids = [
    ...idsOf(world.foreign),
    ...idsOf(world.own),
    "00000000-0000-0000-0000-000000000000",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    world.own.callId.toUpperCase(),
    world.own.callId.replaceAll("-", ""),
    `{${world.own.callId}}`,
    `${world.own.callId} `,
  ];
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
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(201, 257, 2_001, 10_000, 100_000)
        .chain((n) => fc.constantFrom("a".repeat(n), "😀".repeat(n), "9".repeat(n), "%".repeat(n), `+1${"5".repeat(n)}`)),
    },
  );
};

export const NUMBERS = [
  0,
  -1,
  -0,
  0.5,
  1.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  5e-324,
  70,
  100,
  101,
  1000,
  1001,
  604_801,
  2_000_000_001,
];

/** Nested arrays or objects `depth` deep, as JSON text (built as text: no recursion on either side of the test). */
export function deepJson(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}

export const hostileJson = (world: World): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 5, arbitrary: hostileString(world) },
    { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(hostileString(world), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom({}, [], [[]], { __proto__: null, polluted: true }, JSON.parse('{"__proto__":{"admin":true}}'), {
        constructor: { prototype: { x: 1 } },
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom(100, 1_000).map((d) => JSON.parse(deepJson(d, "array")) as unknown) },
  );

export const CONTENT_TYPES = [
  null,
  "",
  "text/plain",
  "text/json",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/json; charset=utf-16",
  "application/json;charset=latin1",
  "application/problem+json",
  "application/merge-patch+json",
  "APPLICATION/JSON",
  "application/jsonx",
  "application/json, text/plain",
  "*/*",
  'application/json; boundary="',
  "application/octet-stream",
];

/** Raw bodies: broken JSON, duplicate keys, deep nesting, over 1 MiB, invalid UTF-8, other encodings. */
export const rawBodies = (baseText: string): fc.Arbitrary<RawBody> => {
  const utf8 = new TextEncoder().encode(baseText);
  return fc.oneof(
    fc
      .constantFrom(
        "",
        " ",
        "{",
        "}",
        "[",
        '{"a":',
        "nul",
        "NaN",
        "Infinity",
        '{"a":NaN}',
        "{'a':1}",
        '{"a":1,}',
        "\u0000",
        '{"a":1e400}',
        "[1,2,3]",
        '"text"',
        "42",
        "null",
        "true",
      )
      .map((body) => ({ kind: "body-raw" as const, body })),
    fc.nat({ max: Math.max(0, baseText.length - 1) }).map((n) => ({ kind: "body-raw" as const, body: baseText.slice(0, n) })),
    fc
      .tuple(fc.constantFrom(...Object.keys(safeParse(baseText) ?? { a: 1 }), "x"), fc.constantFrom('"x"', "1", "null", "[]", '{"a":1}'))
      .map(([key, value]) => ({
        kind: "body-raw" as const,
        // the same key twice: the second wins in JSON.parse; either way the answer must be a clean 2xx/4xx
        body:
          baseText.startsWith("{") && baseText.length > 2
            ? `${baseText.slice(0, -1)},${JSON.stringify(key)}:${value}}`
            : `{${JSON.stringify(key)}:1,${JSON.stringify(key)}:${value}}`,
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
