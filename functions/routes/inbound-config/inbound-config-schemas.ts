import { z } from "@hono/zod-openapi";
import { uuid } from "../../lib/schemas";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
/** Bounds on the document's size: far past any real schedule, small enough to route from in memory. */
export const MAX_INTERVALS_PER_DAY = 24;
export const MAX_ROUTING_RULES = 500;

/** `HH:MM`, 00:00–23:59; `24:00` as an end means "until midnight". */
const wallClock = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, { message: "must be a time HH:MM between 00:00 and 24:00" })
  .openapi({ example: "09:00" });

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

const interval = z
  .object({ start: wallClock, end: wallClock })
  .strict()
  .refine((i) => minutes(i.start) < minutes(i.end), { path: ["end"], message: "must be after start (split an overnight shift across two days)" });

/** One weekday's open intervals, org-local `[start, end)`; they may touch but not overlap. */
const dayHours = z
  .array(interval)
  .max(MAX_INTERVALS_PER_DAY)
  .superRefine((intervals, ctx) => {
    const order = intervals.map((iv, index) => ({ index, start: minutes(iv.start), end: minutes(iv.end) })).sort((a, b) => a.start - b.start);
    for (let i = 1; i < order.length; i++)
      if (order[i]!.start < order[i - 1]!.end)
        ctx.addIssue({ code: "custom", path: [order[i]!.index, "start"], message: "overlaps another interval of the same day" });
  });

export const businessHoursSchema = z
  .object(Object.fromEntries(WEEKDAYS.map((d) => [d, dayHours.optional()])) as Record<(typeof WEEKDAYS)[number], z.ZodOptional<typeof dayHours>>)
  .strict()
  .openapi("BusinessHours", { description: "Per weekday (mon..sun), org-local open intervals; a day not listed is closed." });

/** A caller-number prefix such as +1415: a plus sign and 1 to 15 digits. */
export const routingPrefix = z.string().regex(/^\+\d{1,15}$/, { message: "must be a plus sign and 1 to 15 digits, such as +1415" });

export const routingRulesSchema = z
  .array(z.object({ prefix: routingPrefix, agentId: uuid }).strict())
  .max(MAX_ROUTING_RULES)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      if (seen.has(rule.prefix)) ctx.addIssue({ code: "custom", path: [index, "prefix"], message: "is listed twice" });
      seen.add(rule.prefix);
    });
  });

export const inboundConfigSchema = z
  .object({
    orgId: z.uuid(),
    defaultAgentId: z.uuid().nullable(),
    afterHoursAgentId: z.uuid().nullable(),
    businessHours: z.record(z.string(), z.array(z.object({ start: z.string(), end: z.string() }))),
    rules: z.array(z.object({ prefix: z.string(), agentId: z.uuid() })),
    updatedAt: z.string().nullable(),
  })
  .openapi("InboundConfig");
