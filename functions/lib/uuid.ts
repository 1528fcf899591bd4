const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** A UUID of `version` (RFC 9562 layout, variant 10) from four 32-bit words; the version and variant bits replace theirs. */
export function uuidOf(version: 4 | 7, w0: number, w1: number, w2: number, w3: number): string {
  return (
    HEX[w0 >>> 24]! +
    HEX[(w0 >>> 16) & 255]! +
    HEX[(w0 >>> 8) & 255]! +
    HEX[w0 & 255]! +
    "-" +
    HEX[w1 >>> 24]! +
    HEX[(w1 >>> 16) & 255]! +
    "-" +
    HEX[(version << 4) | ((w1 >>> 8) & 15)]! +
    HEX[w1 & 255]! +
    "-" +
    HEX[0x80 | ((w2 >>> 24) & 63)]! +
    HEX[(w2 >>> 16) & 255]! +
    "-" +
    HEX[(w2 >>> 8) & 255]! +
    HEX[w2 & 255]! +
    HEX[w3 >>> 24]! +
    HEX[(w3 >>> 16) & 255]! +
    HEX[(w3 >>> 8) & 255]! +
    HEX[w3 & 255]!
  );
}

/**
 * A version-7 UUID (RFC 9562) from an instant and three random 32-bit words: the instant's 48 bits of milliseconds
 * first, then random bits. Rows written in time order land at the right edge of their id indexes instead of at random
 * pages.
 */
export function uuidv7Of(ms: number, w1: number, w2: number, w3: number): string {
  const high = Math.floor(ms / 65536) >>> 0;
  const low = ms - Math.floor(ms / 65536) * 65536;
  return uuidOf(7, high, (low * 65536 + (w1 & 0xffff)) >>> 0, w2, w3);
}

/**
 * Random words drawn from `crypto.getRandomValues` a pool at a time, each used once: one call per id cost more than
 * the rest of the id's work together (a third of a 1,000-call batch's CPU in the Node process, issue #15 item 3).
 * Filled on first use, never at import (the Worker refuses randomness at global scope).
 */
const RANDOM_POOL_WORDS = 3 * 1024;
let randomPool: Uint32Array | undefined;
let randomNext = RANDOM_POOL_WORDS;

function randomWord(): number {
  if (randomNext === RANDOM_POOL_WORDS) {
    randomPool = crypto.getRandomValues(randomPool ?? new Uint32Array(RANDOM_POOL_WORDS));
    randomNext = 0;
  }
  return randomPool![randomNext++]!;
}

/**
 * A new version-7 UUID with cryptographic random bits, for rows the app inserts (issue #15): inserting 1,000 calls
 * with random (version-4) ids touched a random leaf of every id index per row and, after a checkpoint, wrote a full
 * page image of each to the WAL; time-ordered ids touch the indexes' last pages (BENCHMARKS.md, "Writes").
 */
export function uuidv7(ms: number = Date.now()): string {
  return uuidv7Of(ms, randomWord(), randomWord(), randomWord());
}
