import { z } from "zod";

/**
 * `TALLY_RATE_LIMIT` (SPEC §11): `<requests>/<seconds>s`, e.g. `600/60s`, or `off`. Unset: the app's default
 * (600 requests a minute per key).
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
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  TALLY_RATE_LIMIT: rateLimitSetting,
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
