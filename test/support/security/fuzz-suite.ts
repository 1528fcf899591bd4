import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, createTestApp, type TestApp } from "../app";
import { installWriteCounter } from "./fingerprint";
import { FUZZ_RUNS, fuzzRoute, type RouteFuzzReport } from "./fuzz";
import { operationsOf, ROUTE_FIXTURES, type Access } from "./route-table";
import { buildWorld, type World } from "./world";

/**
 * One fuzz file: every route of the route table whose access is in `accesses`, FUZZ_RUNS cases each. The files split
 * the table by access (their union is every route: the tenancy suite fails for a route without a fixture), so they can
 * run on separate workers where a machine has them.
 */
export function fuzzSuite(accesses: readonly Access[]) {
  const ids = Object.keys(ROUTE_FIXTURES).filter((id) => accesses.includes(ROUTE_FIXTURES[id]!.access));
  let t: TestApp;
  let world: World;
  let ops: ReturnType<typeof operationsOf> | undefined;
  const reports: RouteFuzzReport[] = [];
  const started = performance.now();

  beforeAll(async () => {
    t = await createTestApp({ rateLimit: false });
    await installWriteCounter(t.database.db);
    world = await buildWorld(t, ADMIN_KEY);
  });
  afterAll(async () => {
    const lines = reports.map(
      (r) =>
        `${r.route}: ${r.cases} cases in ${(r.totalMs / 1000).toFixed(1)} s of requests (slowest ${Math.round(r.maxMs)} ms), statuses ${JSON.stringify(r.statuses)}`,
    );
    console.log(
      `[fuzz] ${accesses.join("/")} routes, ${FUZZ_RUNS} runs each, ${((performance.now() - started) / 1000).toFixed(0)} s in all (${process.env.TALLY_TEST_DB ?? "pglite"}):\n${lines.join("\n")}`,
    );
    await t?.close();
  });

  describe.each(ids)("%s", (id) => {
    it(`never answers 5xx, writes nothing when it refuses, and leaks no other organization's data (${FUZZ_RUNS} cases)`, async () => {
      const op = (ops ??= operationsOf(t.app)).find((o) => o.id === id);
      expect(op, `${id} is not in the OpenAPI document`).toBeDefined();
      const report = await fuzzRoute(t, world, op!);
      reports.push(report);
      expect(report.cases, "too few cases reached the app").toBeGreaterThanOrEqual(Math.floor(FUZZ_RUNS * 0.95));
    }, 1_800_000);
  });
}
