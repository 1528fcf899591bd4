import { configDefaults, defineConfig } from "vitest/config";
import { ignoreSpuriousPostgresSocketErrors } from "./test/workers/unhandled-errors.js";

/**
 * Every suite runs on PGlite; when a Postgres URL is set (TEST_DATABASE_URL or DATABASE_URL), the same suites run
 * again against that server as a second project, so CI checks both databases in one `npm test`. With that URL the
 * workerd suite (test/workers: the Worker entry inside workerd, vitest.workers.config.ts) runs as a third project.
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const notified = globalThis as { tallyWorkerdSkipNotice?: true };
if (!postgresUrl && !notified.tallyWorkerdSkipNotice) {
  notified.tallyWorkerdSkipNotice = true;
  console.warn("[vitest] the workerd suite (test/workers) is skipped: it runs when DATABASE_URL is set");
}

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, "test/workers/**"],
    onUnhandledError: ignoreSpuriousPostgresSocketErrors,
    projects: [
      { extends: true, test: { name: "pglite", env: { TALLY_TEST_DB: "pglite" } } },
      ...(postgresUrl
        ? [{ extends: true as const, test: { name: "postgres", env: { TALLY_TEST_DB: "postgres", TALLY_TEST_PG_URL: postgresUrl } } }]
        : []),
      ...(postgresUrl ? ["vitest.workers.config.ts"] : []),
    ],
  },
});
