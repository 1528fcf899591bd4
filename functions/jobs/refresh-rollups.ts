import { refreshRollups } from "../rollups/refresh";
import type { JobDefinition } from "./types";

/**
 * Folds the calls that changed since the last run into the rollups (SPEC §7): advances the watermark, recomputes the
 * dirty buckets and the buckets of calls that started since the last run. Its cost follows the rows changed; a backlog
 * drains over several runs (see MAX_ADVANCE_CALLS, MAX_DIRTY_MARKS). Answers are exact whether or not it has run.
 */
export const refreshRollupsJob: JobDefinition = {
  cron: "* * * * *",
  description: "advance the rollup watermark and recompute the buckets changed since the last run",
  leaseSec: 300,
  async run({ db, clock }) {
    return refreshRollups(db, clock.now());
  },
};
