import type { Cache } from "../cache/cache";

type OrgInvalidation = { running: Promise<void> | null; queued: Promise<void> | null };

/** Per cache (an app's), per organization: the version move under way and the one queued behind it. */
const byCache = new WeakMap<Cache, Map<string, OrgInvalidation>>();

/**
 * Moves an organization's cache version on after a write committed, as `cache.invalidateOrg` does, with the writes
 * of one organization that commit while a move is under way sharing the next one: one store round trip for all of
 * them instead of one each (issue #15: a write's own share of the Node CPU). A write waits for a move that began after
 * its commit — the running one may have begun before, and a read between that move and the commit may have cached
 * the old answer under the new version — so it joins the queued move, which begins once the running one ends.
 */
export function invalidateOrgAfterWrite(cache: Cache, orgId: string): Promise<void> {
  let orgs = byCache.get(cache);
  if (!orgs) byCache.set(cache, (orgs = new Map()));
  const known = orgs.get(orgId);
  if (known?.queued) return known.queued;
  const org = known ?? { running: null, queued: null };
  orgs.set(orgId, org);
  const start = (): Promise<void> => {
    org.queued = null;
    const run: Promise<void> = cache.invalidateOrg(orgId).finally(() => {
      if (org.running !== run) return;
      org.running = null;
      if (!org.queued) orgs.delete(orgId);
    });
    org.running = run;
    return run;
  };
  if (!org.running) return start();
  org.queued = org.running.then(start, start);
  return org.queued;
}
