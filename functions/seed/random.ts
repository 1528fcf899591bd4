/**
 * The seeded randomness every generated row comes from. sfc32 (Chris Doty-Humphrey's small fast counter) passes
 * PractRand, needs only 32-bit integer arithmetic and is tiny, so millions of draws cost little and the same seed
 * gives the same rows — ids included — on every machine.
 */

import { uuidOf, uuidv7Of } from "../lib/uuid";

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** cyrb128: four 32-bit words from a string, to seed independent streams from readable keys. */
export function hashWords(key: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // the first outputs of a freshly seeded sfc32 are poorly mixed
    for (let i = 0; i < 12; i++) this.next32();
  }

  /** An independent stream named by its parts, e.g. `Random.from(seed, orgIndex, "calls")`. */
  static from(...parts: (string | number)[]): Random {
    const [a, b, c, d] = hashWords(parts.join("\u0001"));
    return new Random(a, b, c, d);
  }

  /** A cheap stream for item `index` of a keyed family (contact i of an organization), without string hashing. */
  static indexed(words: readonly [number, number, number, number], index: number): Random {
    return new Random(words[0] ^ index, words[1], (words[2] + Math.imul(index, 0x9e3779b9)) | 0, words[3] ^ (index >>> 16));
  }

  next32(): number {
    const t0 = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const t = (t0 + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** An index drawn with probability proportional to its weight. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** Standard normal by Box–Muller (one draw per call keeps the stream easy to reason about). */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.float();
    const v = this.float();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median: durations and session lengths have long right tails. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** A version-4-shaped UUID from this stream. */
  uuid(): string {
    return uuidOf(4, this.next32(), this.next32(), this.next32(), this.next32());
  }

  /**
   * A version-7 UUID (RFC 9562): the instant's milliseconds first, then random bits. Rows of a table written in
   * time order then land at the right edge of their id indexes instead of at random pages.
   */
  uuidAt(ms: number): string {
    return uuidv7Of(ms, this.next32(), this.next32(), this.next32());
  }

  /** `bytes` random bytes as lowercase hex (tokens, external ids). */
  hex(bytes: number): string {
    let out = "";
    for (let i = 0; i < bytes; i += 4) {
      const w = this.next32();
      for (let j = 0; j < 4 && i + j < bytes; j++) out += HEX[(w >>> (j * 8)) & 255]!;
    }
    return out;
  }
}

export const clamp = (value: number, min: number, max: number) => (value < min ? min : Math.min(value, max));
