/**
 * JSON text made once per cached value (issue #16 item 1). A cache miss serialized its value for the store, parsed the
 * text back (so that a miss answers the same JSON data as a hit), and the route serialized the answer built from it
 * again: at the 1M-call organization, ~2 ms of a 90 KB variance miss on this machine (BENCHMARKS.md). A value that is
 * already JSON data (`isJsonData`) needs no parse-back: its JSON round trip is the same data, key for key and in the
 * same order. And the texts of its parts are kept (`jsonTextKeepingParts`), so that an answer holding those very
 * objects is serialized around them (`jsonTextReusingParts`) instead of again.
 *
 * Invariant: an object whose text is kept is never changed afterwards. Cached values already are never changed: the
 * hits of one entry share one object.
 */

/** Texts made by `jsonTextKeepingParts` for the parts of a JSON-data value, by the part. */
const partTexts = new WeakMap<object, string>();

/**
 * Whether `value` is JSON data as `JSON.parse` would answer it: null, booleans, strings, finite numbers other than
 * -0, arrays without holes or other properties, and plain objects (prototype `Object.prototype` or null) whose own
 * properties are all enumerable string-keyed data of the same kinds, nested less than `depth` deep. Then
 * `JSON.parse(JSON.stringify(value))` is deep-equal to `value`, with every object's keys in the same order (both list
 * integer-like keys first, then the others in insertion order). Undefined, functions, symbols, bigints, `toJSON`
 * (Dates), class instances, -0, NaN and infinities are not; nor is a cycle (it exceeds the depth).
 */
export function isJsonData(value: unknown, depth = 64): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (depth === 0) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || Object.getOwnPropertyNames(value).length !== value.length + 1) return false;
        for (let i = 0; i < value.length; i++) if (!(i in value) || !isJsonData(value[i], depth - 1)) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const names = Object.getOwnPropertyNames(value);
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      const record = value as Record<string, unknown>;
      for (const name of names) {
        const property = Object.getOwnPropertyDescriptor(value, name)!;
        if (!property.enumerable || !("value" in property) || !isJsonData(record[name], depth - 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * `JSON.stringify(value)` for a value that is JSON data (`isJsonData`), keeping the text of each of its object or
 * array properties (a plain object's) for `jsonTextReusingParts`. The same text as `JSON.stringify`: a plain object's
 * keys are its own enumerable keys in `Object.keys` order, each quoted by `JSON.stringify`.
 */
export function jsonTextKeepingParts(value: unknown): string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record)) {
    const part = record[key];
    const text = JSON.stringify(part);
    if (typeof part === "object" && part !== null) partTexts.set(part, text);
    members.push(`${JSON.stringify(key)}:${text}`);
  }
  const text = `{${members.join(",")}}`;
  partTexts.set(record, text);
  return text;
}

/** How deep `jsonTextReusingParts` looks for kept parts under plain objects (an answer's `data`, its members). */
const REUSE_DEPTH = 3;

/**
 * `JSON.stringify(answer)`, with the kept text of every part `jsonTextKeepingParts` made found within `REUSE_DEPTH`
 * plain objects of the answer (arrays are not searched). The same text as `JSON.stringify`: anything but a kept part,
 * a primitive or a plain object in the searched levels (a Date, a class instance, a `toJSON`) makes it answer
 * `JSON.stringify(answer)` itself.
 */
export function jsonTextReusingParts(answer: unknown): string {
  return reusing(answer, REUSE_DEPTH) ?? JSON.stringify(answer);
}

const GIVE_UP = Symbol("give up");

/** The text, undefined where JSON.stringify leaves the member out, or GIVE_UP (then the caller stringifies all). */
function reusing(value: unknown, depth: number): string | undefined {
  const text = member(value, depth);
  return text === GIVE_UP ? undefined : text;
}

function member(value: unknown, depth: number): string | undefined | typeof GIVE_UP {
  if (typeof value !== "object" || value === null) {
    switch (typeof value) {
      case "function":
      case "symbol":
        return undefined; // left out, as JSON.stringify leaves them out of an object
      case "bigint":
        return GIVE_UP; // JSON.stringify throws, or calls a BigInt toJSON with the member's key
      default:
        return JSON.stringify(value);
    }
  }
  const kept = partTexts.get(value);
  if (kept !== undefined) return kept;
  // an array's text does not depend on where it sits (its elements' toJSON get their index either way)
  if (Array.isArray(value)) return JSON.stringify(value);
  // a toJSON is called with the member's key: only JSON.stringify of the whole answer gives it the right one
  if ("toJSON" in value) return GIVE_UP;
  if (depth === 0) return JSON.stringify(value);
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return GIVE_UP;
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record)) {
    const text = member(record[key], depth - 1);
    if (text === GIVE_UP) return GIVE_UP;
    if (text !== undefined) members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(",")}}`;
}
