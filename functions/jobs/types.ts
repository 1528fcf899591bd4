import type { Cache } from "../cache/cache";
import type { Db } from "../db/database";
import type { Clock } from "../lib/clock";
import type { Logger } from "../lib/logger";
import type { VoiceConfigService } from "../voice/config-service";

/** Settings jobs read; each entry fills them from its environment. */
export type JobConfig = {
  /** months of calls/pageviews kept; older month partitions are detached then dropped */
  partitionRetentionMonths: number;
  /** month partitions created ahead of the current month */
  partitionMonthsAhead: number;
};

export const DEFAULT_JOB_CONFIG: JobConfig = { partitionRetentionMonths: 25, partitionMonthsAhead: 3 };

export type JobContext = {
  db: Db;
  cache: Cache;
  clock: Clock;
  logger: Logger;
  config: JobConfig;
  /** background work that may outlive the request or cron invocation (Workers' waitUntil) */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** the voice provider's config service, when the runtime has one (`warm-voice-configs`) */
  voice?: VoiceConfigService;
};

/** What a job says it did; the runner adds the job name, start and duration. */
export type JobResult = { rowsRead?: number; rowsWritten?: number; [detail: string]: unknown };

export type JobReport = JobResult & {
  job: string;
  startedAt: string;
  durationMs: number;
  /** true when another runner held the job's lease */
  skipped?: boolean;
};

export type JobDefinition = {
  /** five-field cron expression, UTC; the Workers cron triggers and the Node scheduler both read it */
  cron: string;
  description: string;
  /** upper bound of one run; the lease lasts this long, so a crashed runner blocks the job no longer */
  leaseSec: number;
  run(ctx: JobContext): Promise<JobResult>;
};
