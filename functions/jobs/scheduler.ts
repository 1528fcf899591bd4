import { Cron } from "croner";
import type { AppDeps } from "../deps";
import { jobContext } from "./context";
import { jobNames, jobRegistry } from "./registry";
import { runJob } from "./run";
import type { Tracer } from "../lib/tracing";

/**
 * The in-process scheduler of the Node entry: the registry's cron expressions (UTC), each job under its lease. With a
 * `tracer` (tracing on), each run is a span `job <name>`, the parent of its statements and store calls.
 */
export function startScheduler(deps: AppDeps, tracer?: Tracer): { stop(): void } {
  const crons = jobNames.map(
    (name) =>
      new Cron(jobRegistry[name].cron, { timezone: "UTC", protect: true, name }, async () => {
        try {
          const run = () => runJob(name, jobContext(deps));
          await (tracer ? tracer.span(`job ${name}`, "internal", { "tally.job.name": name }, run) : run());
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
