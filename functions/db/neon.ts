import { Pool, neonConfig } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "../../drizzle/schema";
import { countedHandle, sessionSettings, type Database, type Db, type StatementCounter } from "./database";

export type NeonOptions = {
  url: string;
  /** statement timeout applied to every pooled connection */
  statementTimeoutMs?: number;
  /** for local fixtures: Neon's WebSocket proxy address (host:port) and plain ws instead of wss */
  wsProxy?: string;
  webSocketConstructor?: typeof WebSocket;
};

/** Neon's serverless driver over WebSockets: the edge's pooled Postgres when TCP is not available. */
export function openNeon(options: NeonOptions): Database & { client: Pool } {
  if (options.wsProxy) {
    neonConfig.wsProxy = () => options.wsProxy!;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor;
  const client = new Pool({ connectionString: options.url });
  const setAll = Object.entries(sessionSettings(options.statementTimeoutMs))
    .map(([name, value]) => `SET ${name} = ${value}`)
    .join("; ");
  client.on("connect", (connection: { query: (q: string) => Promise<unknown> }) => {
    void connection.query(setAll);
  });
  const db = drizzle({ client, schema }) as unknown as Db;
  return {
    kind: "neon",
    client,
    db,
    withCounter: (counter: StatementCounter) => countedHandle(db, counter),
    close: () => client.end(),
  };
}
