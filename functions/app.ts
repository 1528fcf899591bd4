import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { timing } from "hono/timing";
import { StatementCounter } from "./db/database";
import type { AppDeps } from "./deps";
import type { App, AppEnv } from "./hono/env";
import { RememberingRouter } from "./hono/router";
import { ApiError, fromDatabaseError, fromHttpException, problem, validationError, withoutQueryParams } from "./lib/errors";
import { authenticate } from "./middleware/auth";
import { cachedReadLane } from "./middleware/cached-read-lane";
import { httpCaching } from "./middleware/http-caching";
import { serverTiming } from "./middleware/server-timing";
import { anonymousLimiter, keyRateLimits } from "./middleware/rate-limit";
import { recordRequestMetrics } from "./ops/metrics";
import { logRequest } from "./ops/request-log";
import { registerRoutes } from "./routes";
import { CACHED_READ_LANE_ROUTES } from "./routes/dashboard/cached-read-lane";
import { docsPage } from "./routes/docs";
import { registerOpsRoutes } from "./routes/ops";

/** The entries type the app they serve by it; the type itself lives in `hono/env.ts`, which imports no route. */
export type { App } from "./hono/env";

/** SPEC §4: bodies over 1 MiB are refused. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "Tally API",
    version: "0.1.0",
    description: "Analytics for a multi-tenant voice-AI call center. Contract: SPEC.md.",
  },
} as const;

/** Builds the one Hono app from the dependencies a runtime hands it. Holds no state of its own. */
export function createApp(deps: AppDeps): App {
  const app: App = new OpenAPIHono<AppEnv>({
    router: new RememberingRouter(),
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
    },
  });

  if (deps.requestTracing) app.use("*", deps.requestTracing);
  const anonymousLimit = anonymousLimiter(deps);
  const keyLimits = keyRateLimits(deps);
  // a fresh cached aggregate is answered ahead of the chain, as the chain would answer it (issue #15); not when every
  // request is traced: its spans are the chain's
  if (!deps.requestTracing && deps.cachedReadLane !== false)
    app.use("/api/*", cachedReadLane(deps, CACHED_READ_LANE_ROUTES, { anonymous: anonymousLimit, key: keyLimits }));
  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use("*", timing({ crossOrigin: true }));
  app.use("*", async (c, next) => {
    // the cached-read lane may have begun counting (a grant it loaded before handing the request over)
    const counter = c.get("counter") ?? new StatementCounter();
    c.set("deps", deps);
    c.set("counter", counter);
    c.set("db", deps.database.withCounter(counter));
    const started = performance.now();
    await next();
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    const fields = {
      requestId: c.get("requestId"),
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status: c.res.status,
      durationMs,
      statements: counter.count,
      cache: c.get("cacheStatus"),
    };
    logRequest(deps, fields);
  });
  app.use("*", serverTiming);
  app.use("*", recordRequestMetrics);
  // every answer may be compressed, so every answer varies by Accept-Encoding: said before the handler answers, since
  // `compress` adding it to a finished answer makes the runtime build that answer again (Node: a second Response)
  app.use("*", async (c, next) => {
    c.header("vary", "Accept-Encoding");
    await next();
  });
  app.use("*", compress());
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", "The request body exceeds 1 MiB");
    },
  });
  // A GET or HEAD has no body to limit, and a body whose Content-Length is its length (no Transfer-Encoding: the
  // runtime's HTTP parser holds the body to it) is judged by that header alone, as `bodyLimit` would judge it, without
  // asking for the body stream: on Node that makes the server build the Web Request and read the body through web
  // streams, where the route's `json()` reads it from the socket directly (issue #15: a tenth of a write's CPU).
  // A chunked body is counted by `bodyLimit` as it streams.
  app.use("/api/*", (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) return limitBody(c, next);
    if (Number.parseInt(length, 10) > MAX_BODY_BYTES) throw new ApiError("payload_too_large", "The request body exceeds 1 MiB");
    return next();
  });
  // failed authentications per client address, checked before any key lookup or signature check (SPEC §11)
  app.use("/api/*", anonymousLimit);
  // per API key: its store call goes out with the key's grant read (one round trip), refusals come after auth
  app.use("/api/*", keyLimits.start);
  app.use("/api/*", async (c, next) => {
    if (c.req.path.startsWith("/api/webhooks/")) return next();
    return authenticate(c, next);
  });
  app.use("/api/*", keyLimits.enforce); // per API key, after auth: only authenticated requests count
  // ETag and 304 on GET JSON answers (SPEC §11), inside the rate limiter: a 304 still counts
  app.use("/api/*", httpCaching);

  registerRoutes(app);
  registerOpsRoutes(app);

  // the document and its page are built once per app, on first request (issue #18: not per request, not at import)
  let openApiDocument: ReturnType<App["getOpenAPI31Document"]> | undefined;
  let docsHtml: string | undefined;
  const documentOf = () => (openApiDocument ??= app.getOpenAPI31Document(OPENAPI_INFO));
  app.get("/openapi.json", (c) => c.json(documentOf()));
  app.get("/docs", (c) => c.html((docsHtml ??= docsPage(documentOf()))));

  app.notFound((c) => problem(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (error instanceof ApiError) return problem(c, error);
    if (error instanceof HTTPException) return problem(c, fromHttpException(error));
    const fromDb = fromDatabaseError(error);
    if (fromDb) {
      c.get("deps")?.logger.log("warn", "database rejected a request", { requestId: c.get("requestId"), code: fromDb.code });
      return problem(c, fromDb);
    }
    deps.logger.log("error", "unhandled error", {
      requestId: c.get("requestId"),
      path: c.req.path,
      error: withoutQueryParams(error instanceof Error ? error.message : String(error)),
      stack: error instanceof Error ? withoutQueryParams(error.stack) : undefined,
    });
    return problem(c, new ApiError("internal", "An unexpected error occurred; the request id identifies it in the logs"));
  });
  return app;
}
