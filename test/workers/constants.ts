/** The platform-admin key the Worker accepts in the workerd suite (a binding set by vitest.workers.config.ts). */
export const WORKERS_TEST_ADMIN_KEY = "workers-test-admin-key-0123456789";

/** The request header by which a route suite's request pins the `worker` target's clock to the test's (ISO instant). */
export const TEST_NOW_HEADER = "x-tally-test-now";
