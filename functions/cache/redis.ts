import { createClient } from "redis";
import { silentLogger, type Logger } from "../lib/logger";
import {
  GUARDED_SET_SCRIPT,
  guardedSetArguments,
  isNoScript,
  knownScriptSha,
  scriptSha,
  StoreTimeoutError,
  ttlArgument,
  withDeadline,
  type CacheStore,
} from "./store";

/**
 * Bound on every Redis command. A local or same-zone Redis answers in about a millisecond; past 100 ms the cache is
 * better off loading than waiting.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 100;
/** Bound on opening a TCP connection (a blackholed address would otherwise take the OS's minutes). */
export const REDIS_CONNECT_TIMEOUT_MS = 1_000;
/** Reconnect backoff: 50 ms doubling up to this, forever, so the cache recovers by itself when Redis returns. */
export const REDIS_RECONNECT_MAX_MS = 2_000;
/**
 * After this many timeouts in a row the connection is presumed wedged (a server or middlebox that accepts but never
 * answers) and is replaced by a new one.
 */
export const REDIS_TIMEOUTS_BEFORE_RECONNECT = 3;
/**
 * ...and only when nothing at all has come back on it for this long: a connection that still answers, late, is alive
 * on a busy instance, and replacing it would turn slowness into an outage (every read a miss, every miss a query).
 */
export const REDIS_SILENCE_BEFORE_RECONNECT_MS = 1_000;
/** Commands waiting on one connection at most: past this the store refuses (a miss) rather than queue. */
const REDIS_QUEUE_MAX = 1_000;

export type RedisStoreOptions = {
  url: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  reconnectMaxMs?: number;
  logger?: Logger;
};

/**
 * The shared store over Redis on TCP (node-redis, RESP2). Node only: the Workers bundle never imports this file.
 * Commands are never queued while disconnected (the offline queue is off): a down Redis answers at once with an error,
 * which the cache takes for a miss, and node-redis reconnects in the background.
 */
export function redisStore(options: RedisStoreOptions): CacheStore {
  const timeout = options.timeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
  const logger = options.logger ?? silentLogger;
  let connection = connect(options, logger);
  let timeoutsInARow = 0;
  let lastReplyAt = Date.now();

  async function send<T>(args: string[]): Promise<T> {
    const current = connection;
    const started = Date.now();
    // a fresh connection may use the command's time to come up; once it has failed, commands fail fast until it is back
    if (!current.client.isReady && !current.failed) await within(current.ready, timeout);
    const left = Math.max(1, timeout - (Date.now() - started));
    try {
      // the deadline is ours (one timer); node-redis's own command timeout is off (`connect`: it bounds only the wait
      // to be written, which with the offline queue off is the tick the command was sent in)
      const pending = current.client.sendCommand(args);
      // a reply that comes after its deadline still shows the connection is alive
      pending.then(
        () => void (lastReplyAt = Date.now()),
        () => {},
      );
      const reply = (await withDeadline(pending, left)) as T;
      timeoutsInARow = 0;
      return reply;
    } catch (error) {
      if (
        error instanceof StoreTimeoutError &&
        ++timeoutsInARow >= REDIS_TIMEOUTS_BEFORE_RECONNECT &&
        Date.now() - lastReplyAt >= REDIS_SILENCE_BEFORE_RECONNECT_MS
      ) {
        timeoutsInARow = 0;
        if (current === connection) {
          logger.log("warn", "redis connection unresponsive; reconnecting", { timeouts: REDIS_TIMEOUTS_BEFORE_RECONNECT });
          connection = connect(options, logger);
          lastReplyAt = Date.now();
          destroy(current.client);
        }
      }
      throw error;
    }
  }

  /**
   * A script by its SHA-1 (`EVALSHA`), its text only when the server does not hold it yet (NOSCRIPT: the first call
   * after a restart or flush), which loads it for every later call.
   */
  async function runScript(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const sha = knownScriptSha(script) ?? (await scriptSha(script));
    try {
      return await send<unknown>(["EVALSHA", sha, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return send<unknown>(["EVAL", script, String(keys.length), ...keys, ...args]);
    }
  }

  return {
    kind: "redis",
    async get(keys) {
      if (keys.length === 0) return [];
      return send<(string | null)[]>(["MGET", ...keys]);
    },
    async set(key, value, ttlMs) {
      await send(["SET", key, value, "PX", String(ttlArgument(ttlMs))]);
    },
    async setIf(key, value, ttlMs, guards) {
      const { keys, args } = guardedSetArguments(key, value, ttlArgument(ttlMs), guards);
      return (await runScript(GUARDED_SET_SCRIPT, keys, args)) === 1;
    },
    async delete(keys) {
      if (keys.length > 0) await send(["DEL", ...keys]);
    },
    async eval(script, keys, args) {
      return runScript(script, keys, args);
    },
    async close() {
      destroy(connection.client);
    },
  };
}

function connect(options: RedisStoreOptions, logger: Logger) {
  const reconnectMaxMs = options.reconnectMaxMs ?? REDIS_RECONNECT_MAX_MS;
  const client = createClient({
    url: options.url,
    RESP: 2,
    disableOfflineQueue: true,
    commandsQueueMaxLength: REDIS_QUEUE_MAX,
    disableClientInfo: true,
    maintNotifications: "disabled",
    // no per-command timeout in node-redis (its default is 5 s): each one is an AbortSignal.timeout whose timer later
    // fires a DOMException nobody reads (~13 % of a cached read's busy CPU in a quiet server profile); `send` holds our
    // one deadline per command instead, and with the offline queue off nothing waits to be written
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: options.connectTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, reconnectMaxMs),
    },
  });
  // settles when the connection is up or has failed once, whichever comes first
  const ready = new Promise<void>((resolve) => client.once("ready", resolve).once("error", () => resolve()));
  const connection = { client, ready, failed: false };
  // node-redis emits an error on every failed reconnect attempt; log the first of each outage only
  let healthy = true;
  client.on("error", (error: unknown) => {
    connection.failed = true;
    if (!healthy) return;
    healthy = false;
    logger.log("warn", "redis connection lost; reconnecting", { error: String(error) });
  });
  client.on("ready", () => {
    if (healthy) return;
    healthy = true;
    logger.log("info", "redis connection ready again");
  });
  // not awaited: a Redis that is down at start must not hold the app back; commands fail fast until it is ready
  client.connect().catch(() => {});
  return connection;
}

function destroy(client: ReturnType<typeof connect>["client"]) {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

/** Waits for `promise` at most `ms`, then goes on either way. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
