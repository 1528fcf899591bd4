import { createRoute, z } from "@hono/zod-openapi";
import { requireOrg } from "../../middleware/auth";
import { putCallAnalysis, toCallResource } from "../../services/calls";
import { bearer, errorResponses, idParam, jsonBody, jsonResponse } from "../../lib/schemas";
import { callSchema } from "./call-schemas";
import type { App } from "../../hono/env";

const label = z.string().trim().min(1).max(100);

export const callAnalysisBody = z
  .object({
    leadScore: z.number().int().min(0).max(100).nullable(),
    milestones: z
      .array(z.object({ key: label, achieved: z.boolean() }).strict())
      .max(100)
      .default([])
      .refine((ms) => new Set(ms.map((m) => m.key)).size === ms.length, { message: "milestone keys must be unique" }),
    objections: z
      .array(z.object({ kind: label, handled: z.boolean() }).strict())
      .max(100)
      .default([]),
  })
  .strict()
  .openapi("CallAnalysis");

const analysisResponse = z.object({
  data: callSchema.extend({
    milestones: z.array(z.object({ key: z.string(), achieved: z.boolean() })),
    objections: z.array(z.object({ kind: z.string(), handled: z.boolean() })),
  }),
});

export const route = createRoute({
  method: "put",
  path: "/api/calls/{id}/analysis",
  summary: "Replace a call's AI analysis: lead score, milestones and objections",
  tags: ["calls"],
  security: bearer,
  request: { params: idParam, ...jsonBody(callAnalysisBody) },
  responses: { 200: jsonResponse("The call with its analysis", analysisResponse), ...errorResponses },
});

export type CallAnalysisRequest = z.infer<typeof callAnalysisBody>;

export function register(app: App) {
  app.openapi(route, async (c) => {
    const org = requireOrg(c.get("auth"));
    const result = await putCallAnalysis(c.get("db"), org.id, c.req.valid("param").id, c.req.valid("json"), c.get("deps").clock.now());
    await c.get("deps").cache.invalidateOrg(org.id);
    return c.json({ data: { ...toCallResource(result.call), milestones: result.milestones, objections: result.objections } }, 200);
  });
}
