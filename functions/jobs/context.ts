import type { AppDeps } from "../deps";
import { DEFAULT_JOB_CONFIG, type JobContext } from "./types";

/** The context jobs run in, from the app's dependencies (the same for cron, CLI and the admin route); jobs need only these. */
export function jobContext(
  deps: Pick<AppDeps, "database" | "cache" | "clock" | "logger" | "jobConfig" | "voice">,
  waitUntil?: (p: Promise<unknown>) => void,
): JobContext {
  return {
    db: deps.database.db,
    cache: deps.cache,
    clock: deps.clock,
    logger: deps.logger,
    config: deps.jobConfig ?? DEFAULT_JOB_CONFIG,
    ...(waitUntil ? { waitUntil } : {}),
    ...(deps.voice ? { voice: deps.voice } : {}),
  };
}
