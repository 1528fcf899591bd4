import { afterAll, beforeAll } from "vitest";
import { createTestApp, type TestApp } from "./app";

/**
 * The test app of a file: built before its first test (`beforeAll`) and closed after its last (`afterAll`), which
 * every suite otherwise spells out. The handle it answers reads through to that app, so `t.request(…)` works in any
 * test or hook, never at import time.
 */
export function useTestApp(options?: Parameters<typeof createTestApp>[0]): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await createTestApp(options);
  });
  afterAll(async () => {
    await app?.close();
  });
  return new Proxy({} as TestApp, {
    get(_target, property) {
      if (!app) throw new Error(`useTestApp: the app is built in beforeAll; t.${String(property)} was read before it`);
      const value = Reflect.get(app, property, app);
      return typeof value === "function" ? value.bind(app) : value;
    },
  });
}
