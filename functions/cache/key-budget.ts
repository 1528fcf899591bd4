/**
 * Whether one more key of a namespace may be stored for an organization in the shared store, across every
 * instance; answers whether the key is admitted. Redis-speaking stores hold the budget themselves
 * (`SHARED_BUDGET_SCRIPT`); an absent check (the in-process store, which no other instance shares) admits.
 */
export type SharedBudgetCheck = (ns: string, org: string, key: string, limit: number, periodMs: number) => Promise<boolean>;

/**
 * How many distinct keys of a namespace each organization has stored lately (issue #18): a key a client chooses (an
 * explicit window) must not let one organization fill the shared store. A count, not the values. Per instance it
 * remembers the keys it admitted (bounded by the organizations it tracks), so a key seen before costs nothing; a new
 * key is also checked against the shared count, so the bound holds across instances: at most `limit` keys a period,
 * and, as a key admitted late in a period lives into the next, at most twice that live at once.
 */
export class KeyBudget {
  readonly #orgs = new Map<string, { since: number; keys: Set<string> }>();

  constructor(
    private readonly shared?: SharedBudgetCheck,
    private readonly maxOrgs = KEY_BUDGET_MAX_ORGS,
  ) {}

  /**
   * Whether `key` may be stored: it already counts, or the organization has room for one more (here and in the
   * shared count). Keys count for `periodMs` from the first of them (the namespace's whole lifetime: fresh + stale +
   * stale-if-error), then afresh. Synchronous unless the shared count must be asked.
   */
  admit(ns: string, org: string, key: string, limit: number, periodMs: number, now: number): boolean | Promise<boolean> {
    const id = `${ns}|${org}`;
    let seen = this.#orgs.get(id);
    if (!seen || now - seen.since >= periodMs || now < seen.since) seen = { since: now, keys: new Set() };
    this.#orgs.delete(id);
    this.#orgs.set(id, seen);
    if (this.#orgs.size > this.maxOrgs) this.#orgs.delete(this.#orgs.keys().next().value as string);
    if (seen.keys.has(key)) return true;
    if (seen.keys.size >= limit) return false;
    if (!this.shared) {
      seen.keys.add(key);
      return true;
    }
    const counted = seen;
    return this.shared(ns, org, key, limit, periodMs).then(
      (admitted) => {
        if (admitted) counted.keys.add(key);
        return admitted;
      },
      // the shared store is failing: nothing can be stored there now anyway, so the instance's own count decides
      () => {
        counted.keys.add(key);
        return true;
      },
    );
  }
}

/**
 * The shared count: KEYS[1] a set of the keys admitted this period, ARGV[1] the key, ARGV[2] the limit, ARGV[3] the
 * period in ms (the set expires that long after its first member). Answers 1 when admitted.
 */
export const SHARED_BUDGET_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`;

/** Organizations × namespaces tracked per instance; past it the least recently seen is forgotten (and counts afresh). */
const KEY_BUDGET_MAX_ORGS = 10_000;
