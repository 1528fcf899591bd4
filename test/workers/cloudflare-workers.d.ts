// The members of workerd's `cloudflare:workers` module this suite uses. Their full types are in
// @cloudflare/workers-types, which the project does not load globally: they clash with the DOM and Node types the
// rest of the code is checked against.
declare module "cloudflare:workers" {
  /** the Worker's bindings: wrangler.toml's vars plus vitest.workers.config.ts's bindings and Hyperdrive */
  export const env: Record<string, unknown>;
  /** the Worker's own entrypoints, called as Workers calls them */
  export const exports: { default: { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> } };
}
