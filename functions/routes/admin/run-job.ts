import { createRoute, z } from "@hono/zod-openapi";
import { jobContext } from "../../jobs/context";
import { isJobName, jobNames } from "../../jobs/registry";
import { runJob } from "../../jobs/run";
import { ApiError } from "../../lib/errors";
import { bearer, errorResponses, jsonResponse } from "../../lib/schemas";
import type { App } from "../../hono/env";

export const runJobParams = z.object({
  name: z
    .string()
    .max(64)
    .openapi({ param: { name: "name", in: "path" }, example: "refresh-rollups" }),
});

export const jobReportSchema = z
  .object({ job: z.string(), startedAt: z.string(), durationMs: z.number(), skipped: z.boolean().optional() })
  .catchall(z.unknown())
  .openapi("JobReport");

export const route = createRoute({
  method: "post",
  path: "/api/admin/jobs/{name}/run",
  summary: "Run a scheduled job now and answer its report",
  tags: ["admin"],
  security: bearer,
  request: { params: runJobParams },
  responses: { 200: jsonResponse("The job's report", z.object({ data: jobReportSchema })), ...errorResponses },
});

export function register(app: App) {
  app.openapi(route, async (c) => {
    const { name } = c.req.valid("param");
    if (!isJobName(name)) throw new ApiError("not_found", `No job named ${name}; jobs: ${jobNames.join(", ")}`);
    const waitUntil = (() => {
      try {
        const ctx = c.executionCtx;
        return (p: Promise<unknown>) => ctx.waitUntil(p);
      } catch {
        return undefined;
      }
    })();
    const report = await runJob(name, { ...jobContext(c.get("deps"), waitUntil), db: c.get("db") });
    return c.json({ data: report }, 200);
  });
}
