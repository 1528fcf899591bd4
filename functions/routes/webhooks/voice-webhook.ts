import { createRoute, z } from "@hono/zod-openapi";
import { ApiError, validationError } from "../../lib/errors";
import { errorResponses, jsonResponse, uuid } from "../../lib/schemas";
import { findCallByExternalId, toCallResource, upsertCall } from "../../services/calls";
import { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SEC, findWebhookSecret, toleranceLeftMs, verifyVoiceSignature } from "../../services/webhooks";
import { createCallBody } from "../calls/create-call";
import { callSchema } from "../calls/call-schemas";
import type { App } from "../../hono/env";

/** The body of POST /api/calls with `externalId` required, so a redelivered event updates the call it created. */
export const voiceCallEventSchema = createCallBody.required({ externalId: true }).openapi("VoiceCallEvent", {
  description: "A call event: the body of POST /api/calls, with externalId required (redeliveries are idempotent).",
});

export const route = createRoute({
  method: "post",
  path: "/api/webhooks/voice/{orgId}",
  summary: "Receive a call event from the voice provider, signed with the organization's webhook secret",
  description:
    `Authenticated by its \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">\` header ` +
    `(key: the webhook secret set with PATCH /api/settings), not by an API key. Refused with 401 when the header is ` +
    `missing or malformed, ${SIGNATURE_TOLERANCE_SEC / 60} minutes or more from now, or does not match, and for an ` +
    `organization without a secret. The body is a VoiceCallEvent, upserted by externalId. A delivery whose (t, v1) pair ` +
    `was already accepted is a replay: it answers 200 with \`meta.replayed: true\` and the call as it is, and changes nothing.`,
  tags: ["webhooks"],
  security: [],
  // not `uuid`: a malformed id answers 401 like an unknown organization, not 400; lower-cased like every id
  request: {
    params: z.object({
      orgId: z
        .string()
        .overwrite((value) => value.toLowerCase())
        .openapi({ param: { name: "orgId", in: "path" }, format: "uuid" }),
    }),
  },
  responses: {
    200: jsonResponse(
      "A call already delivered (matched by externalId), changed; or a replayed delivery (`meta.replayed`), nothing changed",
      z.object({ data: callSchema.nullable(), meta: z.object({ replayed: z.boolean() }).optional() }),
    ),
    201: jsonResponse("A new call", z.object({ data: callSchema })),
    400: errorResponses[400],
    401: { ...errorResponses[401], description: "Missing, malformed, expired or wrong signature (the same answer for an unknown organization)" },
  },
});

const rejected = () => new ApiError("unauthorized", `The ${SIGNATURE_HEADER} header is missing, malformed, outside the tolerance, or does not match`);

export function register(app: App) {
  app.openAPIRegistry.register("VoiceCallEvent", voiceCallEventSchema);
  app.openapi(route, async (c) => {
    const { orgId } = c.req.valid("param");
    const db = c.get("db");
    const deps = c.get("deps");
    const now = deps.clock.now();
    // The signature covers the raw bytes: verify before parsing anything.
    const rawBody = await c.req.text();
    const verdict = await verifyVoiceSignature({
      header: c.req.header(SIGNATURE_HEADER),
      rawBody,
      now,
      secretOf: () => (uuid.safeParse(orgId).success ? findWebhookSecret(db, orgId) : Promise.resolve(null)),
    });
    if (!verdict.ok) {
      deps.logger.log("info", "webhook rejected", { requestId: c.get("requestId"), orgId, reason: verdict.reason });
      throw rejected();
    }
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw new ApiError("malformed_json", "The request body is not valid JSON");
    }
    const event = voiceCallEventSchema.safeParse(json);
    if (!event.success) throw validationError(event.error, "json");
    // SPEC §11: a captured delivery replayed inside the tolerance window (after a newer one, say) must not roll the
    // call back. The claim is atomic in the shared store; a delivery that then fails gives it back, so the sender
    // may retry it unchanged.
    const ledger = deps.webhookReplays;
    const delivery = `${orgId}:${verdict.delivery.timestamp}:${verdict.delivery.signature}`;
    const fresh = await ledger.claim(delivery, toleranceLeftMs(verdict.delivery.timestamp, now) + 1_000).catch((error: unknown) => {
      // a store outage must not stop deliveries: accepted unremembered (the upsert by externalId stays idempotent)
      deps.logger.log("warn", "webhook replay ledger failed", { requestId: c.get("requestId"), error: String(error) });
      return true;
    });
    if (!fresh) {
      const call = await findCallByExternalId(db, orgId, event.data.externalId);
      return c.json({ data: call ? toCallResource(call) : null, meta: { replayed: true } }, 200);
    }
    let result: Awaited<ReturnType<typeof upsertCall>>;
    try {
      result = await upsertCall(db, orgId, event.data, now);
    } catch (error) {
      await ledger.release(delivery).catch(() => {});
      throw error;
    }
    await deps.cache.invalidateOrg(orgId);
    return c.json({ data: toCallResource(result.call) }, result.created ? 201 : 200);
  });
}
