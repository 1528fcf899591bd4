import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { RememberingRouter } from "../../functions/hono/router";
import { createTestApp } from "../support/app";
import { testTarget } from "../support/worker-target";

/**
 * The app's router (`functions/hono/router.ts`): Hono's default router that remembers the match of a route's path
 * without parameters. Every match must be the default router's, the first time and every time after; only route
 * matches without parameters are remembered, so paths clients make up are not.
 */

type Handler = { name: string };
const handler = (name: string): Handler => ({ name });

/** The handlers and parameters of a match, whichever router's form it has. */
function described(result: ReturnType<RememberingRouter<Handler>["match"]>): [string, Record<string, string>][] {
  const stash = result[1] as string[] | undefined;
  return result[0].map(([h, params]) => [
    h.name,
    Object.fromEntries(Object.entries(params as Record<string, string | number>).map(([k, v]) => [k, stash ? stash[v as number]! : (v as string)])),
  ]);
}

describe("RememberingRouter", () => {
  const routes: [string, string, Handler][] = [
    ["ALL", "/api/*", handler("limits")],
    ["ALL", "*", handler("timing")],
    ["GET", "/api/calls", handler("list calls")],
    ["GET", "/api/calls/export", handler("export")],
    ["GET", "/api/calls/:id", handler("get call")],
    ["PATCH", "/api/calls/:id", handler("update call")],
    ["GET", "/api/dashboard/overview", handler("overview")],
  ];
  const remembering = new RememberingRouter<Handler>();
  const reference = new SmartRouter<Handler>({ routers: [new RegExpRouter(), new TrieRouter()] });
  for (const [method, path, h] of routes) {
    remembering.add(method, path, h);
    reference.add(method, path, h);
  }

  it("answers the default router's match, the first time and every time after", () => {
    const asked: [string, string][] = [
      ["GET", "/api/dashboard/overview"],
      ["GET", "/api/calls"],
      ["GET", "/api/calls/export"],
      ["GET", "/api/calls/0190c1a2-1111-7000-8000-000000000001"],
      ["GET", "/api/calls/0190c1a2-1111-7000-8000-000000000002"],
      ["PATCH", "/api/calls/export"],
      ["POST", "/api/dashboard/overview"],
      ["GET", "/api/nothing-here"],
      ["GET", "/health"],
    ];
    for (let round = 0; round < 3; round++)
      for (const [method, path] of asked)
        expect(described(remembering.match(method, path)), `${method} ${path}, round ${round}`).toEqual(described(reference.match(method, path)));
  });

  it("remembers a route's match without parameters, and nothing else", () => {
    const overview = remembering.match("GET", "/api/dashboard/overview");
    expect(remembering.match("GET", "/api/dashboard/overview"), "remembered").toBe(overview);
    // parameters: each path its own match
    const first = remembering.match("GET", "/api/calls/a");
    expect(remembering.match("GET", "/api/calls/a")).not.toBe(first);
    expect(described(remembering.match("GET", "/api/calls/b"))).toContainEqual(["get call", { id: "b" }]);
    // middleware alone (a 404): searched every time, so made-up paths do not accumulate
    const unknown = remembering.match("GET", "/api/made-up");
    expect(described(unknown).map(([name]) => name)).toEqual(["limits", "timing"]);
    expect(remembering.match("GET", "/api/made-up")).not.toBe(unknown);
  });
});

describe.skipIf(testTarget() === "worker")("the app's routes through RememberingRouter", () => {
  it("every route of the app answers the default router's match, with its parameters", async () => {
    const t = await createTestApp();
    try {
      const reference = new SmartRouter<unknown>({ routers: [new RegExpRouter(), new TrieRouter()] });
      for (const route of t.app.routes) reference.add(route.method, route.path, route.handler);
      const names = (result: { 0: [unknown, unknown][]; 1?: unknown }) => {
        const stash = result[1] as string[] | undefined;
        return result[0].map(([h, params]) => [
          Array.isArray(h) ? h[0] : h,
          Object.fromEntries(Object.entries(params as Record<string, string | number>).map(([k, v]) => [k, stash ? stash[v as number] : v])),
        ]);
      };
      const paths = [...new Set(t.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "p-$1")}`))];
      expect(paths.length).toBeGreaterThan(30);
      for (let round = 0; round < 2; round++)
        for (const key of paths) {
          const [method, path] = key.split(" ") as [string, string];
          expect(names(t.app.router.match(method, path) as never), `${key}, round ${round}`).toEqual(names(reference.match(method, path) as never));
        }
    } finally {
      await t.close();
    }
  });
});
