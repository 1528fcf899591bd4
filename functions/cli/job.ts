import { memoryCache } from "../cache/memory";
import { migrate } from "../db/migrate";
import { jobContext } from "../jobs/context";
import { isJobName, jobNames } from "../jobs/registry";
import { runJob } from "../jobs/run";
import { systemClock } from "../lib/clock";
import { jsonLogger } from "../lib/logger";
import { openConfiguredDatabase } from "./open-database";

const name = process.argv[2];
if (!name || !isJobName(name)) {
  console.error(`usage: npm run job -- <name>\njobs: ${jobNames.join(", ")}`);
  process.exit(2);
}
const database = await openConfiguredDatabase();
try {
  await migrate(database);
  const logger = jsonLogger({ level: "warn" });
  const report = await runJob(name, jobContext({ database, cache: memoryCache(systemClock), clock: systemClock, logger }));
  console.log(JSON.stringify(report, null, 2));
} finally {
  await database.close();
}
