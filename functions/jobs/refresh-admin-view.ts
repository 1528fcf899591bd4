import { refreshAdminView } from "../rollups/admin-view";
import type { JobDefinition } from "./types";

/** Recomputes the platform admin's per-organization 30-day view (admin_org_kpis_30d) CONCURRENTLY. */
export const refreshAdminViewJob: JobDefinition = {
  cron: "*/5 * * * *",
  description: "refresh the admin organizations view (last 30 local days per organization) concurrently",
  leaseSec: 600,
  async run({ db, clock }) {
    return refreshAdminView(db, clock.now(), () => clock.now());
  },
};
