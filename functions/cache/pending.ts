import type { Logger } from "../lib/logger";
import type { StoreBreaker } from "./breaker";
import { GENERATION_TTL_MS, INITIAL_VERSION, type KeyLayout, newToken, VERSION_TTL_MS } from "./keys";

/** Failed key invalidations kept for replay; past this many, their organizations' versions move on instead. */
export const PENDING_KEYS_MAX = 1_000;

/**
 * Runs invalidations against the shared store and keeps those that fail, replaying them before the next read once the
 * store answers: a configuration written while Redis was down must not find its old value in Redis when it returns.
 * Kept in this instance only: an instance that dies with invalidations pending leaves them to the entries' TTLs.
 */
export class PendingInvalidations {
  /** org → the version token it must move to */
  readonly #orgs = new Map<string, string>();
  readonly #keys = new Map<string, { ns: string; org: string; params: string }>();
  #replaying: Promise<void> | null = null;

  constructor(
    private readonly breaker: StoreBreaker,
    private readonly layout: KeyLayout,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.#orgs.size + this.#keys.size;
  }

  async invalidateKey(ns: string, org: string, params: string): Promise<void> {
    if (await this.#invalidateKey(ns, org, params)) return;
    if (this.#keys.size < PENDING_KEYS_MAX) this.#keys.set(`${ns}\u0000${org}\u0000${params}`, { ns, org, params });
    else if (!this.#orgs.has(org)) this.#orgs.set(org, newToken());
  }

  async invalidateOrg(org: string, version: string): Promise<void> {
    if (await this.#moveVersion(org, version)) this.#orgs.delete(org);
    else this.#orgs.set(org, version);
  }

  /** Replays what is pending, once at a time; cheap when nothing is. */
  replay(): Promise<void> {
    if (this.size === 0 || !this.breaker.usable) return Promise.resolve();
    this.#replaying ??= this.#replay().finally(() => (this.#replaying = null));
    return this.#replaying;
  }

  async #replay(): Promise<void> {
    const before = this.size;
    for (const [org, version] of [...this.#orgs]) {
      if (!(await this.#moveVersion(org, version))) return;
      this.#orgs.delete(org);
    }
    for (const [id, { ns, org, params }] of [...this.#keys]) {
      if (!(await this.#invalidateKey(ns, org, params))) return;
      this.#keys.delete(id);
    }
    this.logger.log("info", "cache replayed pending invalidations", { count: before });
  }

  async #invalidateKey(ns: string, org: string, params: string): Promise<boolean> {
    const layout = this.layout;
    const done = await this.breaker.attempt("invalidate", async (store) => {
      // the generation first: from here on, no load that read the old one can write its value
      await store.set(layout.generation(ns, org, params), newToken(), GENERATION_TTL_MS);
      const [versionRaw] = await store.get([layout.version(org)]);
      await store.delete([layout.entry(ns, org, versionRaw ?? INITIAL_VERSION, params)]);
    });
    return done.ok;
  }

  async #moveVersion(org: string, version: string): Promise<boolean> {
    const key = this.layout.version(org);
    return (await this.breaker.attempt("invalidate", (store) => store.set(key, version, VERSION_TTL_MS))).ok;
  }
}
