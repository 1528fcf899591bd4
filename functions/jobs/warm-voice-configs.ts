import { sql } from "drizzle-orm";
import { rows } from "../db/database";
import type { BreakerState } from "../voice/shared-breaker";
import type { JobDefinition } from "./types";

/**
 * Voice agent ids read and warmed per batch: a quarter of the client's queue (`VOICE_QUEUE_LIMIT`, 1000), so a run
 * leaves room on this instance for the agents list's own lookups, which the client would otherwise refuse (`queue_full`).
 */
export const WARM_VOICE_BATCH = 250;
/**
 * No new batch starts after this long: half the 10-minute schedule, so a run over a slow provider ends (one batch
 * later at most) before the next run is due. The ids left over are warmed by the next run or fetched on demand.
 */
export const WARM_VOICE_RUN_BUDGET_MS = 5 * 60 * 1000;
/**
 * Organizations count as active with a call started this recently. Their managers are the ones who open the
 * dashboard; a dormant organization's agents are fetched on demand when someone looks (within the agents list's
 * budget), not every ten minutes for nobody. Agents created or changed this recently are warmed whatever their
 * organization's calls, so a newly set-up organization's first look finds its configs.
 */
export const WARM_VOICE_ACTIVE_DAYS = 7;

/**
 * Refreshes the cached voice configs (SPEC §9) of the non-archived agents of active organizations, so the agents list
 * answers `ok` from the cache instead of waiting for the provider. Batched by voice agent id (keyset, one statement a
 * batch; an id is held by one agent at most, SPEC §11, and is warmed in its organization's cache); stops early when the provider's circuit is open (asking it more
 * refreshes nothing; the next run tries again). Without a voice provider it reports so and does nothing.
 */
export const warmVoiceConfigs: JobDefinition = {
  cron: "*/10 * * * *",
  description: "refresh the cached voice-provider configs of the agents of active organizations",
  leaseSec: 600,
  async run({ db, clock, voice }) {
    if (!voice) return { rowsRead: 0, rowsWritten: 0, skipped: true, reason: "no voice provider configured" };
    const started = clock.now();
    const since = new Date(started.getTime() - WARM_VOICE_ACTIVE_DAYS * 86_400_000).toISOString();
    const totals = { rowsRead: 0, requested: 0, refreshed: 0, notFound: 0, failed: 0, backingOff: 0, batches: 0 };
    let breaker: BreakerState = voice.breakerState;
    let stopped: "breaker open" | "time budget" | null = null;
    let after = "";
    for (;;) {
      if (clock.now().getTime() - started.getTime() >= WARM_VOICE_RUN_BUDGET_MS) {
        stopped = "time budget";
        break;
      }
      const batch = await rows<{ org_id: string; voice_agent_id: string }>(
        db,
        sql`WITH active_orgs AS (
              SELECT o.id FROM organizations o
               WHERE EXISTS (SELECT 1 FROM calls c WHERE c.org_id = o.id AND c.started_at >= ${since}::timestamptz)
            )
            SELECT a.org_id, a.voice_agent_id
              FROM agents a
             WHERE a.status <> 'archived'
               AND a.voice_agent_id IS NOT NULL
               AND a.voice_agent_id > ${after}
               AND (a.updated_at >= ${since}::timestamptz OR a.org_id IN (SELECT id FROM active_orgs))
             ORDER BY a.voice_agent_id
             LIMIT ${WARM_VOICE_BATCH}`,
      );
      if (batch.length === 0) break;
      after = batch[batch.length - 1]!.voice_agent_id;
      const report = await voice.warmVoiceConfigs(batch.map((r) => ({ orgId: r.org_id, voiceAgentId: r.voice_agent_id })));
      totals.rowsRead += batch.length;
      totals.requested += report.requested;
      totals.refreshed += report.refreshed;
      totals.notFound += report.notFound;
      totals.failed += report.failed;
      totals.backingOff += report.backingOff;
      totals.batches += 1;
      breaker = report.breaker;
      if (breaker === "open" || breaker === "isolated") {
        stopped = "breaker open";
        break;
      }
      if (batch.length < WARM_VOICE_BATCH) break;
    }
    return { ...totals, rowsWritten: 0, breaker, complete: stopped === null, ...(stopped ? { stoppedBy: stopped } : {}) };
  },
};
