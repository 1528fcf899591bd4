/**
 * The Worker the route suites' `worker` target runs (test/support/worker-target.ts): the deployed entry's own
 * handlers (`createWorkerHandlers`, exactly what functions/entries/worker.ts exports) over a clock that each request
 * pins to the sending test's clock through the `x-tally-test-now` header, so the suites that move a ManualClock read
 * the same windows on the Worker as in process. Built by wrangler like the deployed bundle (test/workers/bundle.ts).
 * Without the header the clock is workerd's own.
 */
import type { Clock } from "../../../functions/lib/clock";
import { createWorkerHandlers, type WorkerHandlers } from "../../../functions/entries/worker-handlers";
import { TEST_NOW_HEADER } from "../constants";

let pinned: number | null = null;
const clock: Clock = { now: () => new Date(pinned ?? Date.now()) };
const handlers = createWorkerHandlers({ clock });

export default {
  fetch(request, env, ctx) {
    const now = request.headers.get(TEST_NOW_HEADER);
    pinned = now === null ? null : Date.parse(now);
    return handlers.fetch(request, env, ctx);
  },
  scheduled(event, env, ctx) {
    pinned = event.scheduledTime;
    return handlers.scheduled(event, env, ctx);
  },
} satisfies WorkerHandlers;
