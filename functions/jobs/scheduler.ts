import { Cron } from "croner";
import type { AppDeps } from "../deps";
import { jobContext } from "./context";
import { jobNames, jobRegistry } from "./registry";
import { runJob } from "./run";

/** The in-process scheduler of the Node entry: the registry's cron expressions (UTC), each job under its lease. */
export function startScheduler(deps: AppDeps): { stop(): void } {
  const crons = jobNames.map(
    (name) =>
      new Cron(jobRegistry[name].cron, { timezone: "UTC", protect: true, name }, async () => {
        try {
          await runJob(name, jobContext(deps));
        } catch {
          // runJob logged it; the next tick tries again
        }
      }),
  );
  return {
    stop: () => {
      for (const c of crons) c.stop();
    },
  };
}
