import { defineConfig } from "vitest/config";

/**
 * Every suite runs on PGlite; when a Postgres URL is set (TEST_DATABASE_URL or DATABASE_URL), the same suites run
 * again against that server as a second project, so CI checks both databases in one `npm test`.
 */
const postgresUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;

export default defineConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["test/**/*.test.ts"],
    projects: [
      { extends: true, test: { name: "pglite", env: { TALLY_TEST_DB: "pglite" } } },
      ...(postgresUrl
        ? [{ extends: true as const, test: { name: "postgres", env: { TALLY_TEST_DB: "postgres", TALLY_TEST_PG_URL: postgresUrl } } }]
        : []),
    ],
  },
});
