import { createRequire } from "node:module";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rows } from "../../functions/db/database";
import { openNeon } from "../../functions/db/neon";
import { startNeonWsProxy, type NeonWsProxy } from "../fixtures/neon-ws-proxy";
import { createTestDatabase, testDbKind, type TestDatabase } from "../support/database";

/**
 * Neon's driver (the Worker's pooled Postgres over WebSockets), through the local proxy fixture: each pooled connection
 * gets the session settings openPostgres gives its own (statement timeout, JIT off).
 */
// `ws` comes with miniflare, without types (as in the proxy fixture); Node 20 has no global WebSocket
const WebSocketImpl = createRequire(import.meta.url)("ws") as typeof globalThis.WebSocket;

describe.skipIf(testDbKind() !== "postgres")("openNeon's connections", () => {
  let database: TestDatabase;
  let proxy: NeonWsProxy;
  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url!);
    proxy = await startNeonWsProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
  });
  afterAll(async () => {
    await proxy?.close();
    await database?.drop();
  });

  it("run with the statement timeout asked for and JIT off", async () => {
    const neon = openNeon({
      url: database.url!,
      wsProxy: proxy.address,
      statementTimeoutMs: 4_321,
      webSocketConstructor: WebSocketImpl,
    });
    try {
      const [settings] = await rows<{ timeout: string; jit: string }>(
        neon.db,
        sql`SELECT current_setting('statement_timeout') AS timeout, current_setting('jit') AS jit`,
      );
      expect(settings).toEqual({ timeout: "4321ms", jit: "off" });
    } finally {
      await neon.close();
    }
  });
});
