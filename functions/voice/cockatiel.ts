/**
 * cockatiel, loaded on first use. Its module creates and aborts `AbortController`s when it is evaluated
 * (`common/abort.js`), and workerd refuses a script that does that at global scope, so nothing the Worker loads may
 * import cockatiel's values statically: they come from `loadCockatiel()` inside a request or a cron run (esbuild keeps a
 * module imported only through `import()` unevaluated until that call). Type-only imports are free.
 */
export type Cockatiel = typeof import("cockatiel");

let loaded: Cockatiel | undefined;
let loading: Promise<Cockatiel> | undefined;

/** The cockatiel module, evaluated by the first call. */
export function loadCockatiel(): Promise<Cockatiel> {
  if (loaded) return Promise.resolve(loaded);
  loading ??= import("cockatiel").then((module) => (loaded = module));
  return loading;
}

/** cockatiel if some call has loaded it, else undefined (then no cockatiel policy has run, and none of its errors exists). */
export const loadedCockatiel = (): Cockatiel | undefined => loaded;
