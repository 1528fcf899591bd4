/**
 * Where the tiered cache keeps things in the shared store:
 * - an entry:            `<prefix><ns>:<org>:v<version>:<params>`
 * - a key's generation:  `<prefix><ns>:<org>:g:<params>` (moved on by `invalidate`; guards writes of slow loads)
 * - an org's version:    `<prefix>~version:<org>` (moved on by `invalidateOrg`; absent reads as "0")
 * Entries of an older version are never read again and expire by their TTL: invalidating an organization costs one
 * write, not a scan.
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  entry(ns: string, org: string, version: string, params: string): string {
    return `${this.prefix}${ns}:${org}:v${version}:${params}`;
  }

  generation(ns: string, org: string, params: string): string {
    return `${this.prefix}${ns}:${org}:g:${params}`;
  }

  version(org: string): string {
    return `${this.prefix}~version:${org}`;
  }
}

/** The organization a cache key belongs to: by convention keys read `<orgId>:<params...>`. */
export function splitOrgKey(key: string): { org: string; params: string } {
  const colon = key.indexOf(":");
  return colon < 0 ? { org: key, params: "" } : { org: key.slice(0, colon), params: key.slice(colon + 1) };
}

/** The version an organization has before its first invalidation. */
export const INITIAL_VERSION = "0";

/**
 * A fresh, unguessable version or generation token. Random rather than counted: if Redis ever loses the version key
 * (eviction), a counter would restart and could meet entries written under its earlier values; a random token cannot.
 */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Entries live at most this long in the store, whatever their fresh and stale windows ask. */
export const MAX_ENTRY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A key's generation outlives any load that read it (loads are bounded by the statement timeout, seconds), so a slow
 * load cannot find the generation gone and take that for "unchanged".
 */
export const GENERATION_TTL_MS = 60 * 60 * 1000;
/** An org's version outlives every entry written under an earlier one, so an expired version never resurrects one. */
export const VERSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
