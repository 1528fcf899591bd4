import { sql } from "drizzle-orm";
import { rows } from "../db/database";
import type { JobDefinition } from "./types";

/** Deleting in batches keeps each statement short; a backlog drains over a few runs. */
const BATCH = 5_000;

/** Deletes invitations that expired without being accepted (served by the partial index on expires_at). */
export const cleanupInvites: JobDefinition = {
  cron: "0 * * * *",
  description: "delete invitations that expired unaccepted",
  leaseSec: 300,
  async run({ db, clock }) {
    const deleted = await rows<{ n: number }>(
      db,
      sql`WITH doomed AS (
            SELECT id FROM invites WHERE accepted_at IS NULL AND expires_at < ${clock.now().toISOString()}::timestamptz LIMIT ${BATCH}
          )
          , gone AS (DELETE FROM invites i USING doomed WHERE i.id = doomed.id RETURNING 1)
          SELECT count(*)::int AS n FROM gone`,
    );
    const n = deleted[0]?.n ?? 0;
    return { rowsRead: n, rowsWritten: n, deleted: n };
  },
};
