import { INDUSTRIES, ORG_PREFIXES, ZONES, type Industry } from "./catalog";
import { Random, clamp } from "./random";

export type SeedPhase = "setup" | "contacts" | "calls" | "analyze";
export type SeedProgress = { phase: SeedPhase; done: number; total: number };

export type SeedOptions = {
  /** organizations to create (≥ 1) */
  orgs: number;
  /** calls across all organizations (≥ 0); their sizes sum to exactly this */
  calls: number;
  /** days of history ending at `now` (1–400) */
  days: number;
  /** same seed and `now` ⇒ same rows, ids included */
  seed: number | string;
  /** the end of the generated history (default: the current time) */
  now?: Date;
  /** agents per organization; default grows with the organization's size */
  agentsPerOrg?: number;
  /** when set, the first organization takes this share (0–1] of all calls, for benchmarks on one large tenant */
  largestOrgShare?: number;
  /** agents of that largest organization (default: as agentsPerOrg, else grown with its size up to 40) */
  largestOrgAgents?: number;
  /** website pageviews per call (default 2) */
  pageviewsPerCall?: number;
  onProgress?: (progress: SeedProgress) => void;
};

/** Everything decided about one organization before its rows are drawn. */
export type OrgPlan = {
  index: number;
  /** names the organization's random streams: the seed and its index */
  key: string;
  name: string;
  timeZone: string;
  country: string;
  industry: Industry;
  calls: number;
  agents: number;
  pageviews: number;
};

export class SeedOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid seed options: ${problems.join("; ")}`);
    this.name = "SeedOptionsError";
  }
}

const MAX_DAYS = 400;

/** Every problem with the options, so a caller can report them all at once. */
export function seedOptionProblems(options: SeedOptions): string[] {
  const problems: string[] = [];
  const int = (name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max === Number.MAX_SAFE_INTEGER ? "any size" : max} (got ${String(value)})`);
    }
  };
  int("orgs", options.orgs, 1, 10_000);
  int("calls", options.calls, 0, 1_000_000_000);
  int("days", options.days, 1, MAX_DAYS);
  if (options.agentsPerOrg !== undefined) int("agentsPerOrg", options.agentsPerOrg, 1, 1_000);
  if (options.largestOrgAgents !== undefined) {
    int("largestOrgAgents", options.largestOrgAgents, 1, 1_000);
    if (options.largestOrgShare === undefined) problems.push("largestOrgAgents needs largestOrgShare");
  }
  if (options.largestOrgShare !== undefined) {
    const s = options.largestOrgShare;
    if (typeof s !== "number" || !(s > 0 && s <= 1)) problems.push(`largestOrgShare must be a number in (0, 1] (got ${String(s)})`);
    else if (options.orgs === 1 && s !== 1) problems.push("largestOrgShare needs at least 2 organizations unless it is 1");
  }
  if (options.pageviewsPerCall !== undefined) {
    const p = options.pageviewsPerCall;
    if (typeof p !== "number" || !(p >= 0 && p <= 100)) problems.push(`pageviewsPerCall must be a number from 0 to 100 (got ${String(p)})`);
  }
  if (typeof options.seed !== "number" && typeof options.seed !== "string") problems.push("seed must be a number or a string");
  if (typeof options.seed === "number" && !Number.isFinite(options.seed)) problems.push("seed must be finite");
  if (options.now !== undefined && !(options.now instanceof Date && Number.isFinite(options.now.getTime()))) {
    problems.push("now must be a valid Date");
  }
  return problems;
}

/** Splits `total` into integers proportional to `weights` that sum to exactly `total` (largest remainders). */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map((_, i) => (i === 0 ? total : 0));
  const exact = weights.map((w) => (total * w) / sum);
  const sizes = exact.map(Math.floor);
  let left = total - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) sizes[order[k]![1]]! += 1;
  return sizes;
}

/** Agents an organization of this size runs: a handful for a small office (at least one in each status), dozens for a large call center. */
export const defaultAgentCount = (calls: number) => clamp(Math.round(3 + Math.sqrt(calls) / 12), 5, 40);

/** The organizations of a seed: zones handed out in order, sizes skewed (log-normal) or one made the largest. */
export function planOrganizations(options: SeedOptions): OrgPlan[] {
  const rng = Random.from(options.seed, "plan");
  const weights = Array.from({ length: options.orgs }, () => rng.logNormal(1, 0.9));
  let sizes: number[];
  if (options.largestOrgShare !== undefined) {
    const largest = Math.round(options.calls * options.largestOrgShare);
    sizes = [largest, ...apportion(options.calls - largest, weights.slice(1))];
  } else {
    sizes = apportion(options.calls, weights);
  }
  const names = new Set<string>();
  return sizes.map((calls, index) => {
    const zone = ZONES[index % ZONES.length]!;
    const industry = rng.pick(INDUSTRIES);
    let name = `${rng.pick(ORG_PREFIXES)} ${industry.noun}`;
    for (let n = 2; names.has(name); n++) name = `${name.replace(/ #\d+$/, "")} #${n}`;
    names.add(name);
    return {
      index,
      key: `${options.seed}:${index}`,
      name,
      timeZone: zone.timeZone,
      country: zone.country,
      industry,
      calls,
      agents: (index === 0 && options.largestOrgShare !== undefined ? options.largestOrgAgents : undefined) ?? options.agentsPerOrg ?? defaultAgentCount(calls),
      pageviews: Math.round(calls * (options.pageviewsPerCall ?? 2)),
    };
  });
}
