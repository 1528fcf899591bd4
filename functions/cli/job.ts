// `npm run job -- <name>`: runs one scheduled job now, against the configured database and cache, and prints its
// report. With REDIS_URL the job sees the same shared cache as the running instances (so `warm-cache` warms what they
// read and invalidations reach them); with VOICE_API_URL/VOICE_API_KEY `warm-voice-configs` asks the real provider.
import { createNodeSharedCache } from "../cache/node";
import { migrate } from "../db/migrate";
import { jobContext } from "../jobs/context";
import { isJobName, jobNames } from "../jobs/registry";
import { runJob } from "../jobs/run";
import { systemClock } from "../lib/clock";
import { jsonLogger } from "../lib/logger";
import { createVoiceService, voiceStoreOver } from "../voice";
import { openConfiguredDatabase } from "./open-database";

const name = process.argv[2];
if (!name || !isJobName(name)) {
  console.error(`usage: npm run job -- <name>\njobs: ${jobNames.join(", ")}`);
  process.exit(2);
}
const { REDIS_URL, VOICE_API_URL, VOICE_API_KEY } = process.env;
const clock = systemClock;
const logger = jsonLogger({ level: "warn" });
const database = await openConfiguredDatabase();
const shared = createNodeSharedCache({ store: REDIS_URL ? "redis" : "memory", ...(REDIS_URL ? { url: REDIS_URL } : {}), clock, logger });
try {
  await migrate(database);
  const voice =
    VOICE_API_URL && VOICE_API_KEY
      ? createVoiceService({ baseUrl: VOICE_API_URL, apiKey: VOICE_API_KEY, store: voiceStoreOver(shared, clock), clock, logger })
      : undefined;
  const pending: Promise<unknown>[] = [];
  const report = await runJob(
    name,
    jobContext({ database, cache: shared.cache, clock, logger, ...(voice ? { voice } : {}) }, (p) => pending.push(p)),
  );
  await Promise.allSettled(pending);
  console.log(JSON.stringify(report, null, 2));
} finally {
  await shared.cache.close();
  await database.close();
}
