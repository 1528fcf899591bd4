import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { migrate } from "../../functions/db/migrate";
import { openPglite } from "../../functions/db/pglite";
import { seed } from "../../functions/seed";

/**
 * `npm run explain` as an operator runs it: the CLI in its own process against an embedded database directory. It is
 * driver-independent (it explains what the routes send), so it runs in the PGlite project only.
 */
const run = promisify(execFile);
const onPglite = process.env.TALLY_TEST_DB !== "postgres";

type Report = {
  organization: { id: string };
  results: { route: string; statement: number; seqScans: { relation: string; rows: number; guarded: boolean }[] }[];
  violations: { route: string; relation: string }[];
};

async function explain(dataDir: string, ...args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TALLY_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "functions/cli/explain.ts", "--json", ...args], {
      env,
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, report: JSON.parse(stdout) as Report, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, report: JSON.parse(e.stdout) as Report, stderr: e.stderr };
  }
}

let dataDir: string;
beforeAll(async () => {
  if (!onPglite) return;
  dataDir = mkdtempSync(join(tmpdir(), "tally-explain-"));
  const database = await openPglite({ dataDir: join(dataDir, "pgdata") });
  await migrate(database);
  await seed(database, { orgs: 2, calls: 2_000, days: 14, seed: 7, now: new Date(), pageviewsPerCall: 0.5 });
  await database.close();
}, 120_000);
afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe.runIf(onPglite)("npm run explain", () => {
  it("explains every statement of every hot read route, passes while the guarded tables are small, and deletes its key", async () => {
    const { code, report } = await explain(dataDir);
    expect(code).toBe(0);
    expect(report.violations).toEqual([]);
    const routes = new Set(report.results.map((r) => r.route.split(" ").slice(0, 2).join(" ")));
    for (const route of [
      "GET /api/dashboard/overview?days=30",
      "GET /api/dashboard/analytics?days=90",
      "GET /api/agents",
      "GET /api/analytics/agent-variance?days=30",
      "GET /api/dashboard/overview?days=30&compare=previous",
      "GET /api/agents/{id}/performance?days=30",
      "GET /api/calls?limit=20",
      "GET /api/coverage?days=7",
      "POST /api/calls/route",
    ])
      expect(routes, route).toContain(route);
    const database = await openPglite({ dataDir: join(dataDir, "pgdata") });
    try {
      expect(await rows(database.db, sql`SELECT id FROM api_keys WHERE name = 'npm run explain'`)).toEqual([]);
    } finally {
      await database.close();
    }
  }, 120_000);

  it("exits 1 and names the scan when a hot query must read a guarded table sequentially", async () => {
    // without the indexes on calls, every read of one organization's calls is a sequential scan
    const database = await openPglite({ dataDir: join(dataDir, "pgdata") });
    const indexes = await rows<{ name: string }>(
      database.db,
      sql`SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relname = 'calls' AND NOT x.indisprimary AND NOT x.indisunique`,
    );
    for (const { name } of indexes) await database.db.execute(sql`DROP INDEX ${sql.identifier(name)}`);
    await database.close();
    expect(indexes.length).toBeGreaterThan(0);

    const { code, report } = await explain(dataDir, "--threshold", "0");
    expect(code).toBe(1);
    expect(report.violations.length).toBeGreaterThan(0);
    const onCalls = report.violations.filter((v) => v.relation.startsWith("calls"));
    expect(onCalls.map((v) => v.route)).toContain("GET /api/dashboard/overview?days=30");
  }, 120_000);
});
