/**
 * How many distinct keys of a namespace each organization has stored lately on this instance (issue #18): a key a
 * client chooses (an explicit window) must not let one organization fill the shared store. A count, not the values;
 * bounded itself by the organizations it tracks.
 */
export class KeyBudget {
  readonly #orgs = new Map<string, { since: number; keys: Set<string> }>();

  constructor(private readonly maxOrgs = KEY_BUDGET_MAX_ORGS) {}

  /**
   * Whether `key` may be stored: it already counts, or the organization has room for one more. Keys count for
   * `periodMs` from the first of them (the namespace's whole lifetime: fresh + stale + stale-if-error), then afresh.
   */
  admit(ns: string, org: string, key: string, limit: number, periodMs: number, now: number): boolean {
    const id = `${ns}|${org}`;
    let seen = this.#orgs.get(id);
    if (!seen || now - seen.since >= periodMs || now < seen.since) seen = { since: now, keys: new Set() };
    this.#orgs.delete(id);
    this.#orgs.set(id, seen);
    if (this.#orgs.size > this.maxOrgs) this.#orgs.delete(this.#orgs.keys().next().value as string);
    if (seen.keys.has(key)) return true;
    if (seen.keys.size >= limit) return false;
    seen.keys.add(key);
    return true;
  }
}

/** Organizations × namespaces tracked per instance; past it the least recently seen is forgotten (and counts afresh). */
const KEY_BUDGET_MAX_ORGS = 10_000;
