/**
 * Preloaded into a child process (`node --import tsx --import ./test/support/module-log.ts`) to record every module it
 * loads in the file MODULE_LOG names: each ES module import as it resolves (a loader hook), and at exit every CommonJS
 * module in `require.cache`. The traces suite reads it to show that no OpenTelemetry module is loaded without an endpoint.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const log = process.env.MODULE_LOG;
if (log) {
  const hooks = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + "\\n");
  return resolved;
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const cache = createRequire(import.meta.url).cache;
  process.on("exit", () => appendFileSync(log, Object.keys(cache).join("\n") + "\n"));
}
