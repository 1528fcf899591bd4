// Node-only CLI for the rollups (on-demand operations the scheduled jobs do not cover):
//   npx tsx functions/cli/rollups.ts refresh                 one incremental refresh now (as the job does)
//   npx tsx functions/cli/rollups.ts rebuild --org <org id>  rebuild one organization's rollups from its raw calls
//   npx tsx functions/cli/rollups.ts rebuild --all           recompute every rollup row (advances the watermark to now)
// Acts on DATABASE_URL, else the PGlite directory of TALLY_DATA_DIR (as `npm run job` does).
import { parseArgs } from "node:util";
import { openConfiguredDatabase } from "./open-database";
import { migrate } from "../db/migrate";
import { rebuildOrganizationRollups, recomputeAllRollups, refreshRollups } from "../rollups/refresh";

const USAGE = "usage: npx tsx functions/cli/rollups.ts refresh | rebuild --org <org id> | rebuild --all";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({ args: rest, options: { org: { type: "string" }, all: { type: "boolean" } }, strict: true });
if (command !== "refresh" && command !== "rebuild") {
  console.error(USAGE);
  process.exit(2);
}
if (command === "rebuild" && !values.all && !(values.org && UUID.test(values.org))) {
  console.error(`rebuild needs --org <uuid> or --all\n${USAGE}`);
  process.exit(2);
}

const database = await openConfiguredDatabase();
try {
  await migrate(database);
  const started = performance.now();
  const report =
    command === "refresh"
      ? await refreshRollups(database.db, new Date())
      : values.all
        ? await recomputeAllRollups(database.db, new Date())
        : await rebuildOrganizationRollups(database.db, values.org!);
  console.log(
    JSON.stringify({ command, ...(values.org ? { orgId: values.org } : {}), durationMs: Math.round(performance.now() - started), ...report }, null, 2),
  );
} finally {
  await database.close();
}
