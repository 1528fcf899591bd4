import { createClient } from "redis";
import { silentLogger, type Logger } from "../lib/logger";
import { scriptRateLimitStore, type RateLimitStore } from "./rate-limit";

/** Reconnect backoff: 50 ms doubling up to this, forever (the limiter fails open meanwhile). */
const RECONNECT_MAX_MS = 2_000;
const CONNECT_TIMEOUT_MS = 1_000;
/** node-redis's own bound on a command; the middleware's deadline (`RATE_LIMIT_TIMEOUT_MS`) bounds the whole call. */
const COMMAND_TIMEOUT_MS = 100;

/**
 * The rate-limit store over Redis on TCP (Node only: the Workers bundle never imports this file; Workers use
 * `upstashRateLimitStore`). Its own connection, RESP2, no offline queue: while Redis is down every call fails at once
 * and the limiter lets requests through.
 */
export function redisRateLimitStore(options: { url: string; keyPrefix?: string; logger?: Logger }): RateLimitStore & { close(): Promise<void> } {
  const logger = options.logger ?? silentLogger;
  const client = createClient({
    url: options.url,
    RESP: 2,
    disableOfflineQueue: true,
    disableClientInfo: true,
    maintNotifications: "disabled",
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, RECONNECT_MAX_MS) },
  });
  let healthy = true;
  client.on("error", (error: unknown) => {
    if (!healthy) return;
    healthy = false;
    logger.log("warn", "rate-limit redis connection lost; reconnecting", { error: String(error) });
  });
  client.on("ready", () => {
    healthy = true;
  });
  // not awaited: a Redis that is down at start must not hold the app back (the limiter fails open meanwhile)
  client.connect().catch(() => {});
  const store = scriptRateLimitStore(
    "redis",
    async (script, keys, args) => {
      if (!client.isReady) await readyWithin(client, COMMAND_TIMEOUT_MS);
      return client.sendCommand(["EVAL", script, String(keys.length), ...keys, ...args]);
    },
    options.keyPrefix,
  );
  return {
    ...store,
    async close() {
      try {
        client.destroy();
      } catch {
        // already closed
      }
    },
  };
}

/** Waits for the connection to be (re)established, at most `ms`; then the command goes and fails fast if it is not. */
function readyWithin(client: { once(event: "ready", listener: () => void): unknown; off(event: "ready", listener: () => void): unknown }, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once("ready", done);
  });
}
