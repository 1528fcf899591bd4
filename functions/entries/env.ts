import { z } from "zod";
import type { AppDeps } from "../deps";
import type { RateLimitStore } from "../rate-limit/stores";

/**
 * A rate-limit variable (SPEC §11: `TALLY_RATE_LIMIT`, `TALLY_WRITE_RATE_LIMIT`, `TALLY_ANON_RATE_LIMIT`):
 * `<requests>/<seconds>s`, e.g. `600/60s`, or `off`. Unset: the app's default (600 a minute per read key, 6000 per
 * write key, 60 failed authentications per client address).
 */
export const rateLimitSetting = z
  .string()
  .trim()
  .regex(/^(off|[1-9]\d{0,8}\/[1-9]\d{0,6}s)$/, "must be <requests>/<seconds>s (e.g. 600/60s) or off")
  .transform((text): { requests: number; windowSec: number } | "off" => {
    if (text === "off") return "off";
    const [requests, seconds] = text.slice(0, -1).split("/");
    return { requests: Number(requests), windowSec: Number(seconds) };
  })
  .optional();

type RateLimitSetting = z.infer<typeof rateLimitSetting>;

/** The app's three limits from their variables, all counted in one store (the cache's Redis or Upstash when shared). */
export function rateLimitsFrom(
  env: { TALLY_RATE_LIMIT?: RateLimitSetting; TALLY_WRITE_RATE_LIMIT?: RateLimitSetting; TALLY_ANON_RATE_LIMIT?: RateLimitSetting },
  store: RateLimitStore,
): Pick<AppDeps, "rateLimit" | "writeRateLimit" | "anonRateLimit"> {
  const limit = (setting: RateLimitSetting) => (setting === "off" ? (false as const) : { store, ...setting });
  return { rateLimit: limit(env.TALLY_RATE_LIMIT), writeRateLimit: limit(env.TALLY_WRITE_RATE_LIMIT), anonRateLimit: limit(env.TALLY_ANON_RATE_LIMIT) };
}

/** The environment of the Node entry, validated once at start; a bad value stops the process with its name. */
export const nodeEnvSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  /** SPEC §11: loopback unless told otherwise (containers set HOST=0.0.0.0) */
  HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.url().optional(),
  REDIS_URL: z.url().optional(),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  VOICE_API_URL: z.url().optional(),
  VOICE_API_KEY: z.string().optional(),
  TALLY_ADMIN_KEY: z.string().min(16, "TALLY_ADMIN_KEY must be at least 16 characters").optional(),
  TALLY_DATA_DIR: z.string().default(".tally"),
  TALLY_DEMO: z.enum(["auto", "off"]).default("auto"),
  TALLY_SCHEDULER: z.enum(["on", "off"]).default("on"),
  /** the cached-read lane's lease (`AppDeps.cachedReadLease`): `off` makes every cached read ask the shared store */
  TALLY_READ_LEASE: z.enum(["on", "off"]).default("on"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  TALLY_RATE_LIMIT: rateLimitSetting,
  TALLY_WRITE_RATE_LIMIT: rateLimitSetting,
  TALLY_ANON_RATE_LIMIT: rateLimitSetting,
  /** SPEC §11 "Traces": set, the entry exports OpenTelemetry traces to `<endpoint>/v1/traces`; unset, nothing is loaded */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/protobuf", "http/json"]).default("http/protobuf"),
  OTEL_SERVICE_NAME: z.string().min(1).default("tally"),
});

export type NodeEnv = z.infer<typeof nodeEnvSchema>;

export class EnvError extends Error {
  override name = "EnvError";
}

export function parseEnv<T extends z.ZodTypeAny>(schema: T, source: Record<string, unknown>): z.infer<T> {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new EnvError(`Invalid environment:\n${lines}`);
  }
  return result.data;
}
