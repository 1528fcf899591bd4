import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { migrate } from "../../functions/db/migrate";
import { openPostgres } from "../../functions/db/postgres";
import { startNeonWsProxy } from "../fixtures/neon-ws-proxy";
import { startUpstashRest } from "../fixtures/upstash-rest";
import { adminUrl, databaseUrl } from "../support/templates";

declare module "vitest" {
  export interface ProvidedContext {
    /** this run's own migrated database on the local Postgres */
    workersDatabaseUrl: string;
    upstashUrl: string;
    upstashToken: string;
    /** host:port of the fixture speaking Neon's WebSocket protocol over the same Postgres */
    neonWsProxy: string;
  }
}

/**
 * Runs in Node before the workerd suite: creates and migrates this run's own database, and starts the two protocol
 * fixtures the Worker reaches over loopback (Upstash REST over the local Redis, Neon's WebSockets over the local
 * Postgres). The vitest config hands their addresses to the Worker as bindings; teardown drops the database.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!serverUrl) {
    throw new Error("the workerd suite (test/workers) needs DATABASE_URL: a Postgres server on which it may create a database");
  }
  const name = `tally_workers_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const url = databaseUrl(serverUrl, name);
  const admin = postgres(adminUrl(serverUrl), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const database = openPostgres({ url, max: 1 });
  try {
    await migrate(database);
  } finally {
    await database.close();
  }

  const upstash = await startUpstashRest({ redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
  const target = new URL(serverUrl);
  const neon = await startNeonWsProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });

  project.provide("workersDatabaseUrl", url);
  project.provide("upstashUrl", upstash.url);
  project.provide("upstashToken", upstash.token);
  project.provide("neonWsProxy", neon.address);

  return async () => {
    await neon.close();
    await upstash.close();
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  };
}
