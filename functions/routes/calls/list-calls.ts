import { createRoute, z } from "@hono/zod-openapi";
import { CALL_DIRECTIONS, CALL_STATUSES } from "../../../drizzle/schema/enums";
import { requireOrg } from "../../middleware/auth";
import { bearer, errorResponses, instant, jsonResponse, uuid } from "../../lib/schemas";
import { decodeCursor, DEFAULT_PAGE_SIZE, listCalls, MAX_PAGE_SIZE, type CallListFilters } from "../../read-models/calls-list";
import { callSchema } from "./call-schemas";
import { checkedAnswer } from "../../lib/respond";
import type { App, RequestVars } from "../../hono/env";

/** The filters of a calls list (and of its CSV export). */
export const callFilterFields = {
  direction: z.enum(CALL_DIRECTIONS).optional(),
  status: z.enum(CALL_STATUSES).optional(),
  agentId: uuid.optional().openapi({ description: "calls of this agent (an id of another organization matches nothing)" }),
  from: instant.optional().openapi({ description: "started at or after (ISO instant)" }),
  to: instant.optional().openapi({ description: "started before (ISO instant)" }),
};

/** `from` after `to` is refused (a window of no instants is a mistake, not an empty answer). */
export const fromNotAfterTo: [(q: { from?: string | undefined; to?: string | undefined }) => boolean, { message: string; path: string[] }] = [
  (q) => q.from === undefined || q.to === undefined || Date.parse(q.from) <= Date.parse(q.to),
  { message: "must not be after to", path: ["from"] },
];

/** The query of a calls list: filters, page size and keyset cursor. Unknown parameters are rejected. */
export const callListQuery = z
  .object({
    ...callFilterFields,
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).openapi({ example: DEFAULT_PAGE_SIZE }),
    cursor: z
      .string()
      .refine((value) => decodeCursor(value) !== null, { message: "is not a cursor this API issued" })
      .optional()
      .openapi({ description: "meta.nextCursor of the previous page" }),
  })
  .strict()
  .refine(...fromNotAfterTo);
export type CallListQuery = z.infer<typeof callListQuery>;

export const callListItemSchema = callSchema
  .extend({
    agent: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    contact: z.object({ id: z.uuid(), name: z.string().nullable(), phone: z.string() }),
  })
  .openapi("CallListItem");

export const callListResponse = z.object({
  data: z.array(callListItemSchema),
  meta: z.object({
    nextCursor: z.string().nullable().openapi({ description: "pass as `cursor` for the next page; null on the last page" }),
    total: z.number().int().openapi({ description: "exact number of calls matching the filters (the cursor aside)" }),
    limit: z.number().int(),
    asOf: z.string(),
    cache: z.literal("bypass"),
  }),
});
export type CallListResponse = z.infer<typeof callListResponse>;

export const route = createRoute({
  method: "get",
  path: "/api/calls",
  summary: "Calls, newest first, filtered and keyset-paginated",
  tags: ["calls"],
  security: bearer,
  request: { query: callListQuery },
  responses: { 200: jsonResponse("A page of calls", callListResponse), ...errorResponses },
});

/** Answers one page of the calls matching `filters` (shared by the by-phone list). Never cached: exact at `asOf`. */
export async function callListPage(c: RequestVars, query: CallListQuery, filters: CallListFilters): Promise<CallListResponse> {
  const org = requireOrg(c.get("auth"));
  const asOf = c.get("deps").clock.now();
  const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const page = await listCalls({ db: c.get("db"), org }, filters, { limit: query.limit, cursor });
  return checkedAnswer(c.get("deps").validateResponses, callListResponse, {
    data: page.items,
    meta: { nextCursor: page.nextCursor, total: page.total, limit: query.limit, asOf: asOf.toISOString(), cache: "bypass" as const },
  });
}

export function register(app: App) {
  app.openapi(route, async (c) => {
    const query = c.req.valid("query");
    const { direction, status, agentId, from, to } = query;
    c.set("cacheStatus", "bypass");
    return c.json(await callListPage(c, query, { direction, status, agentId, from, to }), 200);
  });
}
