import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { WORKERS_TEST_ADMIN_KEY } from "./test/workers/constants.js";
import { ignoreSpuriousPostgresSocketErrors } from "./test/workers/unhandled-errors.js";

function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = "local";
  return u.toString();
}

/**
 * The workerd suite: test/workers runs inside workerd (Miniflare) against the Worker built from wrangler.toml, over
 * this run's own database on the local Postgres (globalSetup creates and migrates it from Node). The default bindings
 * reach Postgres through a local Hyperdrive binding; tests swap in DATABASE_URL alone or the Neon driver.
 * `npm run test:workers` runs it alone; `npm test` runs it as the `workers` project when DATABASE_URL is set.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          DATABASE_URL: inject("workersDatabaseUrl"),
          UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
          UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
          TALLY_ADMIN_KEY: WORKERS_TEST_ADMIN_KEY,
          LOG_LEVEL: "warn",
        },
        // Miniflare's local Hyperdrive insists on a password in the URL; the local server's trust auth ignores it
        hyperdrives: { HYPERDRIVE: withPassword(inject("workersDatabaseUrl")) },
      },
    })),
  ],
  test: {
    name: "workers",
    include: ["test/workers/**/*.test.ts"],
    globalSetup: ["test/workers/global-setup.ts"],
    onUnhandledError: ignoreSpuriousPostgresSocketErrors,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
