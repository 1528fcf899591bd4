import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireOrg } from "../../middleware/auth";
import { csvRecord } from "../../lib/csv";
import { bearer, errorResponses } from "../../lib/schemas";
import { allCallPages, type CallListItem } from "../../read-models/calls-list";
import { callFilterFields, callListItemSchema, fromNotAfterTo } from "./list-calls";
import type { App, AppEnv } from "../../hono/env";

/**
 * Rows a statement of the export reads: one keyset page at a time, so the server holds one page (about 1 MB of rows
 * and their CSV) whatever the export's size, and 100k calls take 100 statements.
 */
export const EXPORT_PAGE_SIZE = 1000;

/** The filters of `GET /api/calls`, without `limit` and `cursor` (an export is every matching call). */
export const callExportQuery = z
  .object(callFilterFields)
  .strict()
  .refine(...fromNotAfterTo);

/**
 * The columns: the fields of a `GET /api/calls` item in their order, the nested `agent` and `contact` as
 * `agent.id`, `agent.name`, `contact.id`, … (a CSV cell holds no object).
 */
const NESTED = { agent: ["id", "name"], contact: ["id", "name", "phone"] } as const;
export const CALL_EXPORT_COLUMNS: string[] = Object.keys(callListItemSchema.shape).flatMap((field) =>
  field in NESTED ? NESTED[field as keyof typeof NESTED].map((inner) => `${field}.${inner}`) : [field],
);

function cellsOf(call: CallListItem): unknown[] {
  return CALL_EXPORT_COLUMNS.map((column) => {
    const [field, inner] = column.split(".") as [keyof CallListItem, string | undefined];
    const value = call[field];
    return inner === undefined ? value : (value as Record<string, unknown> | null)?.[inner];
  });
}

export const route = createRoute({
  method: "get",
  path: "/api/calls/export",
  summary: "Every call matching the filters, newest first, as CSV (streamed)",
  description:
    "The filters of `GET /api/calls` (no `limit` or `cursor`). RFC 4180 CSV in UTF-8: a header row of the call fields of `GET /api/calls` in their order (`agent` and `contact` as `agent.id`, `agent.name`, `contact.id`, `contact.name`, `contact.phone`), then one row per call, newest first. Streamed a page at a time: memory does not grow with the row count. Not cached (`Cache-Control: no-store`).",
  tags: ["calls"],
  security: bearer,
  request: { query: callExportQuery },
  responses: {
    200: {
      description: "The calls as CSV, sent as an attachment",
      headers: z.object({ "content-disposition": z.string().openapi({ example: 'attachment; filename="calls-2026-12-02T10-00-00Z.csv"' }) }),
      content: { "text/csv": { schema: z.string().openapi({ example: `${CALL_EXPORT_COLUMNS.join(",")}\r\n` }) } },
    },
    ...errorResponses,
  },
});

/** Work the Worker must let finish before it closes the invocation's database (a stream outlives the handler). */
function keepAlive(c: Context<AppEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // Node: no execution context, and the process's database outlives every request
  }
}

export function register(app: App) {
  app.openapi(route, (c) => {
    const { direction, status, agentId, from, to } = c.req.valid("query");
    const org = requireOrg(c.get("auth"));
    const db = c.get("db");
    const { logger, clock } = c.get("deps");
    const requestId = c.get("requestId");
    c.set("cacheStatus", "bypass");
    const encoder = new TextEncoder();
    const pages = allCallPages({ db, org }, { direction, status, agentId, from, to }, EXPORT_PAGE_SIZE);
    let finished!: () => void;
    keepAlive(c, new Promise<void>((resolve) => (finished = resolve)));
    let rows = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(csvRecord(CALL_EXPORT_COLUMNS)));
      },
      // one page per pull: the next statement runs only when the client has taken the previous page
      async pull(controller) {
        try {
          const next = await pages.next();
          if (next.done) {
            controller.close();
            finished();
            return;
          }
          rows += next.value.length;
          controller.enqueue(encoder.encode(next.value.map((call) => csvRecord(cellsOf(call))).join("")));
        } catch (error) {
          // the status is sent already: the client sees a cut-off download, the log says why
          logger.log("error", "calls export failed mid-stream", { requestId, rows, error: error instanceof Error ? error.message : String(error) });
          controller.error(error);
          finished();
        }
      },
      async cancel() {
        await pages.return(undefined);
        finished();
      },
    });
    const stamp = clock
      .now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z")
      .replaceAll(":", "-");
    return c.body(stream, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="calls-${stamp}.csv"`,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
  });
}
