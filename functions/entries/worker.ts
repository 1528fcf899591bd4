/**
 * The Cloudflare Workers entry (`main` of wrangler.toml): the handlers of `./worker-handlers.ts` over the system clock.
 * It exports its handlers and types only: workerd takes every exported value for an entrypoint, and evaluates this
 * module at global scope, where building the handlers does no work (see `createWorkerHandlers`).
 */
import { createWorkerHandlers } from "./worker-handlers";

export type { ScheduledEvent, WorkerConfig, WorkerContext, WorkerEnv } from "./worker-handlers";

export default createWorkerHandlers();
