import { cleanupInvites } from "./cleanup-invites";
import { maintainPartitions } from "./maintain-partitions";
import { refreshAdminViewJob } from "./refresh-admin-view";
import { refreshRollupsJob } from "./refresh-rollups";
import { warmCacheJob } from "./warm-cache";
import { warmVoiceConfigs } from "./warm-voice-configs";
import type { JobDefinition } from "./types";

/**
 * Every scheduled job by name (the admin route's `{name}`). The Workers cron triggers in wrangler.toml, the Node
 * scheduler, `npm run job -- <name>` and `POST /api/admin/jobs/{name}/run` all read this map.
 */
export const jobRegistry = {
  "maintain-partitions": maintainPartitions,
  "cleanup-invites": cleanupInvites,
  "refresh-rollups": refreshRollupsJob,
  "refresh-admin-view": refreshAdminViewJob,
  "warm-cache": warmCacheJob,
  "warm-voice-configs": warmVoiceConfigs,
} satisfies Record<string, JobDefinition>;

export type JobName = keyof typeof jobRegistry;

export const jobNames = Object.keys(jobRegistry) as JobName[];

export const isJobName = (name: string): name is JobName => Object.hasOwn(jobRegistry, name);

/** The jobs a cron expression triggers (Workers hands the scheduled handler the expression that fired). */
export const jobsForCron = (cron: string): JobName[] => jobNames.filter((name) => jobRegistry[name].cron === cron);
