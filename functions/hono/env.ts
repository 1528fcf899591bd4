import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ApiKeyScope } from "../../drizzle/schema/enums";
import type { OrgContext } from "../context";
import type { Db, StatementCounter } from "../db/database";
import type { AppDeps } from "../deps";

/**
 * The app's HTTP types, apart from the module that builds the app (as unkey's `pkg/hono/app.ts`): routes and
 * middleware import these, and only `app.ts` imports the routes, so no route depends on the app that registers it.
 * Its imports are types of the layers below the routes.
 */
export type App = OpenAPIHono<AppEnv>;

export type Auth = { kind: "org"; keyId: string; scope: ApiKeyScope; org: OrgContext } | { kind: "admin"; keyId: string | null; scope: "admin" };

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    /** Drizzle handle of this request: its statements are counted */
    db: Db;
    counter: StatementCounter;
    auth: Auth;
    requestId: string;
    /** the SHA-256 of the request's bearer token, computed once per request (the limits and authentication share it) */
    keyHash?: string;
    /** set by handlers that answer from a cache, for the request log */
    cacheStatus?: string;
  };
};

/**
 * What request helpers read a request's variables through: `c.get(name)`, a Map lookup. Hono's `c.var` builds an
 * object of every variable on each access (`Object.fromEntries`), which the hot path paid a dozen times per request.
 */
export type RequestVars = Pick<Context<AppEnv>, "get">;
