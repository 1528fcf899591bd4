import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, validationError } from "../../lib/errors";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import { requireOrg } from "../../middleware/auth";
import { ingestCalls } from "../../services/calls-batch";
import { invalidateOrgAfterWrite } from "../../services/write-invalidation";
import type { App } from "../../hono/env";
import { createCallBody } from "./create-call";

/** SPEC §11: 1–1000 items a batch (and 1 MiB a body, as every body: the app's limit answers 413). */
export const MAX_BATCH_ITEMS = 1000;

const items = z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH_ITEMS);

export const createCallsBatchBody = z
  .object({ calls: items.openapi({ description: "1–1000 bodies of POST /api/calls" }) })
  .strict()
  .openapi("CreateCallsBatch");

const itemResultSchema = z
  .object({
    index: z.number().int().openapi({ description: "the item's position in the batch, from 0" }),
    status: z.number().int().openapi({ description: "201 created, 200 changed, or the 4xx POST /api/calls would answer for this item alone" }),
    id: z.uuid().optional().openapi({ description: "the call's id, when the item was applied" }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "why the item failed; it wrote nothing" }),
  })
  .openapi("BatchItemResult");

export const createCallsBatchResponse = z.object({
  data: z.array(itemResultSchema),
  meta: z.object({ created: z.number().int(), updated: z.number().int(), failed: z.number().int() }),
});

export const route = createRoute({
  method: "post",
  path: "/api/calls/batch",
  summary: "Record up to 1000 calls at once (each an upsert as POST /api/calls); JSON or NDJSON",
  description:
    "Each item is applied exactly as POST /api/calls (idempotent by externalId; items with one externalId apply in order). A bad item fails alone and writes nothing of itself; every applied item is durable when the answer comes. A body that is not a list of 1–1000 objects is refused whole.",
  tags: ["calls"],
  security: bearer,
  request: {
    // not `required`: the generated validator would then read every body as JSON, NDJSON too; the handler checks
    body: {
      content: {
        "application/json": { schema: createCallsBatchBody },
        "application/x-ndjson": { schema: z.string().openapi({ description: "one POST /api/calls body (a JSON object) per line, 1–1000 lines" }) },
      },
    },
  },
  responses: { 200: jsonResponse("One result per item, in item order", createCallsBatchResponse), ...errorResponses },
});

/** The items of an NDJSON body: one JSON object a line (blank lines ignored); anything else refuses the body whole. */
function ndjsonItems(text: string): Record<string, unknown>[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new ApiError("validation_failed", `Line ${i + 1} is not JSON`, { errors: [{ path: String(i), message: "is not JSON" }] });
    }
  });
  const checked = items.safeParse(parsed);
  if (!checked.success) throw validationError(checked.error, "ndjson");
  return checked.data;
}

/** The items of a JSON body, which the route's validator has checked when the body was JSON at all. */
function jsonItems(validated: unknown): Record<string, unknown>[] {
  const calls = (validated as Partial<z.infer<typeof createCallsBatchBody>>).calls;
  if (!calls)
    throw new ApiError("validation_failed", "Send { calls: [...] } as application/json, or one call a line as application/x-ndjson", {
      errors: [{ path: "calls", message: "is required" }],
    });
  return calls;
}

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const type = c.req.header("content-type") ?? "";
    const raw = /^application\/x-ndjson\b/i.test(type) ? ndjsonItems(await c.req.text()) : jsonItems(c.req.valid("json"));
    const inputs = raw.map((item) => {
      const parsed = createCallBody.safeParse(item);
      return parsed.success ? parsed.data : validationError(parsed.error, "json");
    });
    const results = await ingestCalls(c.get("db"), org.id, inputs, c.get("deps").clock.now());
    const meta = { created: 0, updated: 0, failed: 0 };
    for (const r of results) r.status === 201 ? meta.created++ : r.status === 200 ? meta.updated++ : meta.failed++;
    // once per batch: every applied item is committed by now
    if (meta.created + meta.updated > 0) await invalidateOrgAfterWrite(c.get("deps").cache, org.id);
    return c.json({ data: results, meta }, 200);
  });
}
