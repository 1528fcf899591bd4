import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startUpstashRest } from "../../fixtures/upstash-rest";
import { TEMPLATE_DIR } from "../../support/templates";
import { buildWorker, TARGET_ENTRY } from "../bundle";

declare module "vitest" {
  export interface ProvidedContext {
    /** the `worker` target's script, built by wrangler as a deploy would build it */
    workerTargetScript: string;
    /** the Upstash REST fixture over the local Redis that the target's Workers use as their cache */
    workerUpstashUrl: string;
    workerUpstashToken: string;
  }
}

/**
 * Before the `worker` project (the route suites run against the Worker in workerd): builds the target Worker once and
 * starts the Upstash REST fixture over the local Redis. Each test file then starts its own workerd over its own
 * database (test/support/worker-target.ts).
 */
export default async function setup(project: TestProject) {
  const bundle = await buildWorker(join(TEMPLATE_DIR, `worker-target-${process.pid}`), TARGET_ENTRY);
  const upstash = await startUpstashRest({ redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
  project.provide("workerTargetScript", bundle.script);
  project.provide("workerUpstashUrl", upstash.url);
  project.provide("workerUpstashToken", upstash.token);
  return () => upstash.close();
}
