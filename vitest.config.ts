import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";
import { ignoreSpuriousPostgresSocketErrors } from "./test/workers/unhandled-errors.js";

/**
 * Every suite runs on PGlite; when a Postgres URL is set (TEST_DATABASE_URL or DATABASE_URL), the same suites run
 * again against that server as a second project, so CI checks both databases in one `npm test`. With that URL two
 * more projects run the Worker in workerd: `worker` drives the route suites (WORKER_SUITES) against the Worker built
 * by wrangler as a deploy builds it (test/support/worker-target.ts), plus the deployed bundle's own test; `workers`
 * is the workerd suite (test/workers, vitest.workers.config.ts: the entry's drivers and bindings from inside).
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const notified = globalThis as { tallyWorkerdSkipNotice?: true };
if (!postgresUrl && !notified.tallyWorkerdSkipNotice) {
  notified.tallyWorkerdSkipNotice = true;
  console.warn("[vitest] the workerd suite (test/workers) is skipped: it runs when DATABASE_URL is set");
}

/**
 * The suites that run a third time, against the Worker entry: every route's contract, auth, reads, writes and
 * freshness. A test in them that cannot run there says why in its file (`testTarget()`).
 */
const WORKER_SUITES = [
  "test/routes/**/*.test.ts",
  "test/app/*.test.ts",
  "test/middleware/*.test.ts",
  "test/services/api-key-lookup.test.ts",
  "test/entries/worker-bundle.test.ts",
];

/** Everything but the workerd suites, against the app in this process. */
const IN_PROCESS_SUITES = {
  include: ["test/**/*.test.ts"],
  exclude: [...configDefaults.exclude, "test/workers/**", "test/entries/worker-bundle.test.ts"],
};

/**
 * Test files at once. Vitest's default (cores − 1) is one file at a time on a 2-core machine, though most of a file's
 * time is spent waiting on Postgres, Redis, workerd or a child process; two more files overlap those waits.
 * `TALLY_TEST_WORKERS` overrides it.
 */
const maxWorkers = Number(process.env.TALLY_TEST_WORKERS) || availableParallelism() + 1;

export default defineConfig({
  test: {
    maxWorkers,
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    onUnhandledError: ignoreSpuriousPostgresSocketErrors,
    projects: [
      { extends: true, test: { name: "pglite", ...IN_PROCESS_SUITES, env: { TALLY_TEST_DB: "pglite" } } },
      ...(postgresUrl
        ? [{ extends: true as const, test: { name: "postgres", ...IN_PROCESS_SUITES, env: { TALLY_TEST_DB: "postgres", TALLY_TEST_PG_URL: postgresUrl } } }]
        : []),
      ...(postgresUrl
        ? [
            {
              extends: true as const,
              test: {
                name: "worker",
                include: WORKER_SUITES,
                globalSetup: ["test/support/global-setup.ts", "test/workers/target/global-setup.ts"],
                // the fuzz suites' generators unchanged, 250 cases a route instead of 1000: each case is an HTTP exchange
                // with workerd here (about 10 ms), and the in-process projects run the full 1000
                env: { TALLY_TEST_DB: "postgres", TALLY_TEST_PG_URL: postgresUrl, TALLY_TEST_TARGET: "worker", FUZZ_RUNS: process.env.FUZZ_RUNS ?? "250" },
              },
            },
          ]
        : []),
      ...(postgresUrl ? ["vitest.workers.config.ts"] : []),
    ],
  },
});
