/** The platform-admin key the Worker accepts in the workerd suite (a binding set by vitest.workers.config.ts). */
export const WORKERS_TEST_ADMIN_KEY = "workers-test-admin-key-0123456789";
