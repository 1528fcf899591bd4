import { OPENAPI_INFO } from "../../../functions/app";
import { createApiKey } from "../../../functions/services/organizations";
import type { TestApp } from "../app";
import { body } from "../app";
import type { World } from "./world";
import type { App } from "../../../functions/hono/env";

/**
 * The route table of the security suites: one fixture per operation of the OpenAPI document. The suites enumerate the
 * document and fail for an operation without a fixture, so a new route cannot skip the tenancy, auth and fuzz checks.
 */

/** Who may call a route (SPEC §3): a key scope, the webhook signature, or nobody in particular (public by design). */
export type Access = "public" | "read" | "write" | "admin" | "signature";

/** A request before it is sent: path parameters by name, query pairs (repeatable), and a JSON body. */
export type RequestSpec = { params?: Record<string, string>; query?: [string, string][]; body?: unknown };

/**
 * Another organization's id sent by `own`'s key. `404`: the route must answer 404 (SPEC §3). `409`: the id is one that
 * only one organization may hold (a voice agent id, SPEC §11): the route must answer 409 and change nothing. `isolated`: the id only
 * filters or names something scoped to the caller anyway (a list filter, an upsert key): any answer but a 5xx, as
 * long as nothing of the other organization is read or written.
 */
export type ForeignCase = { name: string; request: RequestSpec; expect: 404 | 409 | "isolated" };

export type RouteFixture = {
  access: Access;
  /** acts for the key's organization: the platform admin key answers 403 (requireOrg) */
  orgScoped: boolean;
  /** the status of a valid request */
  success: number;
  /** a valid request on the acting organization's own resources; may create what it consumes (DELETE) */
  valid(w: World, t: TestApp): RequestSpec | Promise<RequestSpec>;
  /** the other organization's ids in the path, query or body */
  foreign?(w: World): ForeignCase[];
  /**
   * SPEC §11 HTTP caching, walked by test/middleware/http-caching.test.ts: every GET answering JSON carries a weak ETag
   * and revalidates to 304. `volatile`: the answer changes with every request (say why), so only its tag is checked;
   * `not-json`: the answer is not JSON (no ETag, and `Cache-Control: no-store`).
   */
  httpCaching?: { volatile: string } | "not-json";
};

const now = () => new Date().toISOString();

async function freshService(t: TestApp, key: string): Promise<string> {
  const res = await t.request("POST", "/api/services", { key, body: { name: "to delete", priceCents: 100 } });
  const json = await body(res);
  if (res.status !== 201) throw new Error(`service: ${res.status} ${JSON.stringify(json)}`);
  return json.data.id as string;
}

/**
 * `METHOD /path` as in the OpenAPI document. Adding a route? Add its entry here: its access, whether it acts for one
 * organization, its success status, a valid request, and where another organization's ids could go.
 */
export const ROUTE_FIXTURES: Record<string, RouteFixture> = {
  // ---- platform admin
  "GET /api/admin/organizations": { access: "admin", orgScoped: false, success: 200, valid: () => ({ query: [["sort", "calls30d"]] }) },
  "POST /api/admin/organizations": {
    access: "admin",
    orgScoped: false,
    success: 201,
    valid: () => ({ body: { name: "Fixture org", timezone: "Europe/Berlin" } }),
  },
  "POST /api/admin/organizations/{id}/keys": {
    access: "admin",
    orgScoped: false,
    success: 201,
    valid: (w) => ({ params: { id: w.own.orgId }, body: { scope: "read", name: "fixture key" } }),
  },
  "DELETE /api/admin/organizations/{id}/keys/{keyId}": {
    access: "admin",
    orgScoped: false,
    success: 200,
    valid: async (w, t) => ({
      params: { id: w.own.orgId, keyId: (await createApiKey(t.database.db, { orgId: w.own.orgId, scope: "read", name: "to revoke" })).id },
    }),
    foreign: (w) => [{ name: "key id under this organization's path", request: { params: { id: w.own.orgId, keyId: w.foreign.writeKeyId } }, expect: 404 }],
  },
  "PATCH /api/admin/organizations/{id}": {
    access: "admin",
    orgScoped: false,
    success: 200,
    valid: (w) => ({ params: { id: w.own.orgId }, body: { creditsBalance: 5000 } }),
  },
  "POST /api/admin/jobs/{name}/run": { access: "admin", orgScoped: false, success: 200, valid: () => ({ params: { name: "cleanup-invites" } }) },

  // ---- operations
  "GET /api/health/cache": {
    access: "read",
    orgScoped: false,
    success: 200,
    valid: () => ({}),
    httpCaching: { volatile: "the counters it reports move with every cache call, this request's included" },
  },
  "GET /health": { access: "public", orgScoped: false, success: 200, valid: () => ({}) },
  "GET /metrics": { access: "public", orgScoped: false, success: 200, valid: () => ({}) },

  // ---- calls
  "POST /api/calls": {
    access: "write",
    orgScoped: true,
    success: 201,
    valid: () => ({ body: { phoneNumber: "+14155550177", direction: "outbound", status: "queued" } }),
    foreign: (w) => [
      {
        name: "agentId in the body",
        request: { body: { phoneNumber: "+14155550177", direction: "outbound", status: "queued", agentId: w.foreign.agentId } },
        expect: 404,
      },
      // externalId is scoped to the caller: the other organization's externalId names a new call of the caller's own
      { name: "externalId of its call", request: { body: { externalId: w.foreign.callExternalId, status: "completed" } }, expect: "isolated" },
    ],
  },
  "POST /api/calls/batch": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: () => ({ body: { calls: [{ phoneNumber: "+14155550178", direction: "inbound", status: "completed" }] } }),
    // items are answered one by one: another organization's agent fails its item (404 inside a 200), nothing else
    foreign: (w) => [
      {
        name: "agentId in an item",
        request: { body: { calls: [{ phoneNumber: "+14155550178", direction: "inbound", status: "completed", agentId: w.foreign.agentId }] } },
        expect: "isolated",
      },
      {
        name: "externalId of its call in an item",
        request: { body: { calls: [{ externalId: w.foreign.callExternalId, status: "completed" }] } },
        expect: "isolated",
      },
    ],
  },
  "GET /api/calls": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: () => ({ query: [["limit", "5"]] }),
    foreign: (w) => [{ name: "agentId filter", request: { query: [["agentId", w.foreign.agentId]] }, expect: "isolated" }],
  },
  "GET /api/calls/export": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: () => ({ query: [["direction", "inbound"]] }),
    foreign: (w) => [{ name: "agentId filter", request: { query: [["agentId", w.foreign.agentId]] }, expect: "isolated" }],
    httpCaching: "not-json",
  },
  "GET /api/calls/{id}": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.callId } }),
    foreign: (w) => [{ name: "call id in the path", request: { params: { id: w.foreign.callId } }, expect: 404 }],
  },
  "PATCH /api/calls/{id}": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.callId }, body: { creditsUsed: 4 } }),
    foreign: (w) => [
      { name: "call id in the path", request: { params: { id: w.foreign.callId }, body: { creditsUsed: 9 } }, expect: 404 },
      { name: "agentId in the body", request: { params: { id: w.own.callId }, body: { agentId: w.foreign.agentId } }, expect: 404 },
    ],
  },
  "PUT /api/calls/{id}/analysis": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({
      params: { id: w.own.callId },
      body: { leadScore: 75, milestones: [{ key: "greeting", achieved: true }], objections: [{ kind: "price", handled: false }] },
    }),
    foreign: (w) => [{ name: "call id in the path", request: { params: { id: w.foreign.callId }, body: { leadScore: 1 } }, expect: 404 }],
  },
  "POST /api/calls/reconnect": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ body: { token: w.own.reconnectToken } }),
    foreign: (w) => [{ name: "its reconnect token", request: { body: { token: w.foreign.reconnectToken } }, expect: 404 }],
  },
  "POST /api/calls/route": { access: "read", orgScoped: true, success: 200, valid: () => ({ body: { phoneNumber: "+14155550199" } }) },
  "GET /api/contacts/by-phone/{phone}/calls": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { phone: w.own.phone } }),
    foreign: (w) => [{ name: "agentId filter", request: { params: { phone: w.own.phone }, query: [["agentId", w.foreign.agentId]] }, expect: "isolated" }],
  },

  // ---- agents and sessions
  "GET /api/agents": { access: "read", orgScoped: true, success: 200, valid: () => ({}) },
  "GET /api/agents/{id}/performance": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.agentId }, query: [["days", "30"]] }),
    foreign: (w) => [{ name: "agent id in the path", request: { params: { id: w.foreign.agentId }, query: [["days", "30"]] }, expect: 404 }],
  },
  "POST /api/agents": {
    access: "write",
    orgScoped: true,
    success: 201,
    valid: () => ({ body: { name: "Fixture agent" } }),
    foreign: (w) => [
      { name: "userId in the body", request: { body: { name: "Spy", userId: w.foreign.userId } }, expect: 404 },
      { name: "voiceAgentId in the body", request: { body: { name: "Spy", voiceAgentId: w.foreign.voiceAgentId } }, expect: 409 },
    ],
  },
  "PATCH /api/agents/{id}": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.otherAgentId }, body: { description: "patched" } }),
    foreign: (w) => [
      { name: "agent id in the path", request: { params: { id: w.foreign.agentId }, body: { name: "Hijacked" } }, expect: 404 },
      { name: "userId in the body", request: { params: { id: w.own.otherAgentId }, body: { userId: w.foreign.userId } }, expect: 404 },
      { name: "voiceAgentId in the body", request: { params: { id: w.own.otherAgentId }, body: { voiceAgentId: w.foreign.voiceAgentId } }, expect: 409 },
    ],
  },
  "POST /api/agent-sessions": {
    access: "write",
    orgScoped: true,
    success: 201,
    valid: (w) => ({ body: { agentId: w.own.otherAgentId } }),
    foreign: (w) => [{ name: "agentId in the body", request: { body: { agentId: w.foreign.agentId } }, expect: 404 }],
  },
  "PATCH /api/agent-sessions/{id}": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.sessionId }, body: { endedAt: now() } }),
    foreign: (w) => [{ name: "session id in the path", request: { params: { id: w.foreign.sessionId }, body: { endedAt: now() } }, expect: 404 }],
  },

  // ---- aggregates
  "GET /api/analytics/agent-variance": { access: "read", orgScoped: true, success: 200, valid: () => ({ query: [["days", "30"]] }) },
  "GET /api/dashboard/overview": {
    access: "read",
    orgScoped: true,
    success: 200,
    valid: () => ({
      query: [
        ["days", "30"],
        ["compare", "previous"],
      ],
    }),
  },
  "GET /api/dashboard/analytics": { access: "read", orgScoped: true, success: 200, valid: () => ({ query: [["days", "7"]] }) },
  "GET /api/coverage": { access: "read", orgScoped: true, success: 200, valid: () => ({ query: [["days", "7"]] }) },

  // ---- widget
  "POST /api/pageviews": { access: "write", orgScoped: true, success: 201, valid: () => ({ body: { events: [{ countryCode: "DE" }] } }) },

  // ---- services and appointments
  "GET /api/services": { access: "read", orgScoped: true, success: 200, valid: () => ({}) },
  "POST /api/services": { access: "write", orgScoped: true, success: 201, valid: () => ({ body: { name: "Fixture service", priceCents: 999 } }) },
  "PATCH /api/services/{id}": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.serviceId }, body: { priceCents: 12_500 } }),
    foreign: (w) => [{ name: "service id in the path", request: { params: { id: w.foreign.serviceId }, body: { priceCents: 1 } }, expect: 404 }],
  },
  "DELETE /api/services/{id}": {
    access: "write",
    orgScoped: true,
    success: 204,
    valid: async (w, t) => ({ params: { id: await freshService(t, w.own.writeKey) } }),
    foreign: (w) => [{ name: "service id in the path", request: { params: { id: w.foreign.serviceId } }, expect: 404 }],
  },
  "POST /api/appointments": {
    access: "write",
    orgScoped: true,
    success: 201,
    valid: (w) => ({ body: { contactId: w.own.contactId, serviceId: w.own.serviceId, scheduledAt: "2031-05-01T10:00:00Z" } }),
    foreign: (w) => [
      { name: "contactId in the body", request: { body: { contactId: w.foreign.contactId, scheduledAt: "2031-05-01T10:00:00Z" } }, expect: 404 },
      {
        name: "serviceId in the body",
        request: { body: { contactId: w.own.contactId, serviceId: w.foreign.serviceId, scheduledAt: "2031-05-01T10:00:00Z" } },
        expect: 404,
      },
      {
        name: "callId in the body",
        request: { body: { contactId: w.own.contactId, callId: w.foreign.callId, scheduledAt: "2031-05-01T10:00:00Z" } },
        expect: 404,
      },
    ],
  },
  "PATCH /api/appointments/{id}": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({ params: { id: w.own.appointmentId }, body: { status: "scheduled" } }),
    foreign: (w) => [
      { name: "appointment id in the path", request: { params: { id: w.foreign.appointmentId }, body: { status: "cancelled" } }, expect: 404 },
      { name: "serviceId in the body", request: { params: { id: w.own.appointmentId }, body: { serviceId: w.foreign.serviceId } }, expect: 404 },
      { name: "contactId in the body", request: { params: { id: w.own.appointmentId }, body: { contactId: w.foreign.contactId } }, expect: 404 },
    ],
  },

  // ---- configuration
  "GET /api/inbound-config": { access: "read", orgScoped: true, success: 200, valid: () => ({}) },
  "PUT /api/inbound-config": {
    access: "write",
    orgScoped: true,
    success: 200,
    valid: (w) => ({
      body: {
        defaultAgentId: w.own.agentId,
        afterHoursAgentId: null,
        businessHours: { wed: [{ start: "08:00", end: "12:00" }] },
        rules: [{ prefix: "+1212", agentId: w.own.otherAgentId }],
      },
    }),
    foreign: (w) => [
      {
        name: "defaultAgentId in the body",
        request: { body: { defaultAgentId: w.foreign.agentId, afterHoursAgentId: null, businessHours: {}, rules: [] } },
        expect: 404,
      },
      {
        name: "a rule's agentId in the body",
        request: { body: { defaultAgentId: null, afterHoursAgentId: null, businessHours: {}, rules: [{ prefix: "+1", agentId: w.foreign.agentId }] } },
        expect: 404,
      },
    ],
  },
  "GET /api/settings": { access: "read", orgScoped: true, success: 200, valid: () => ({}) },
  "PATCH /api/settings": { access: "write", orgScoped: true, success: 200, valid: () => ({ body: { name: "Renamed org" } }) },

  // ---- signed webhook (SPEC §6): authenticated by Tally-Signature, not by an API key
  "POST /api/webhooks/voice/{orgId}": {
    access: "signature",
    orgScoped: true,
    success: 201,
    valid: (w) => ({
      params: { orgId: w.own.orgId },
      body: { externalId: `evt-${crypto.randomUUID()}`, phoneNumber: "+14155550142", direction: "inbound", status: "in_progress", startedAt: now() },
    }),
    foreign: (w) => [
      {
        name: "agentId in a signed event",
        request: {
          params: { orgId: w.own.orgId },
          body: { externalId: `evt-${crypto.randomUUID()}`, phoneNumber: "+14155550142", direction: "inbound", status: "queued", agentId: w.foreign.agentId },
        },
        expect: 404,
      },
    ],
  },
};

/** Pages outside /api that are public by design and not API operations (no OpenAPI entry). */
export const PUBLIC_PAGES = ["GET /", "GET /docs", "GET /openapi.json"] as const;

type Schema = { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; [k: string]: unknown };

export type Operation = {
  /** `METHOD /path` as in the document */
  id: string;
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  /** top-level property names of the JSON body, when the route takes one */
  bodyProperties: string[] | null;
  authenticated: boolean;
};

/** Every operation of the app's OpenAPI document. */
export function operationsOf(app: App): Operation[] {
  const doc = app.getOpenAPI31Document(OPENAPI_INFO);
  const schemas = (doc.components?.schemas ?? {}) as Record<string, Schema>;
  const resolve = (s: Schema | undefined): Schema | undefined => (s?.$ref ? resolve(schemas[s.$ref.replace("#/components/schemas/", "")]) : s);
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries(item as Record<string, unknown>)) {
      if (!["get", "post", "put", "patch", "delete", "head"].includes(method)) continue;
      const op = raw as { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: Schema }> }; security?: unknown[] };
      const bodySchema = resolve(op.requestBody?.content?.["application/json"]?.schema);
      out.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name),
        queryParams: (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
        bodyProperties: op.requestBody ? Object.keys(bodySchema?.properties ?? {}) : null,
        authenticated: Array.isArray(op.security) && op.security.length > 0,
      });
    }
  }
  return out;
}

/** Every method and path the Hono app answers (its router, OpenAPI or not), as `METHOD /path` with `{param}`s. */
export function registeredRoutes(app: App): string[] {
  const seen = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // middleware
    seen.add(`${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
  }
  return [...seen].sort();
}

/** The fixture of an operation, or an error telling the developer what to add. */
export function fixtureFor(op: Pick<Operation, "id">): RouteFixture {
  const fixture = ROUTE_FIXTURES[op.id];
  if (!fixture) throw new Error(missingFixtureMessage([op.id]));
  return fixture;
}

export function missingFixtureMessage(ids: string[]): string {
  return (
    `The security suites have no fixture for ${ids.join(", ")}. Add an entry to ROUTE_FIXTURES in ` +
    `test/support/security/route-table.ts: its access ("read" | "write" | "admin" | "signature" | "public"), whether it acts ` +
    `for one organization (orgScoped), its success status, a valid request, and (for org routes taking ids) where another ` +
    `organization's ids go (foreign). Every route then runs through the auth, tenancy and fuzz suites.`
  );
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** A lone surrogate has no UTF-8 and cannot be percent-encoded: it goes as the bytes a careless client would send. */
const encode = (value: string) => encodeURIComponent(value.replace(LONE_SURROGATE, "\u0001")).replaceAll("%01", "%ED%A0%80");

/** Fills `{param}`s (URL-encoded) and appends the query pairs in order (repeats kept). */
export function urlOf(path: string, spec: RequestSpec): string {
  const filled = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = spec.params?.[name];
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${path}`);
    return encode(value);
  });
  const query = (spec.query ?? []).map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&");
  return query ? `${filled}?${query}` : filled;
}
