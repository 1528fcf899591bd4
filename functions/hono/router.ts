import type { Result, Router } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";

/** Hono's name for the method of handlers registered for every method (`app.use`: the middleware). */
const ANY_METHOD = "ALL";

/**
 * Hono's default router (`SmartRouter` over `RegExpRouter` and `TrieRouter`) that remembers the match of a route's
 * path without parameters, so a dashboard read does not walk the route tree on every request (issue #15).
 *
 * The app's routes put `GET /api/calls/:id` beside the literal `/api/calls/export`, which `RegExpRouter` refuses, so
 * `SmartRouter` serves the app with `TrieRouter`: its search was ~5 % of a cached overview's CPU in a profile under
 * load. A match is remembered only when it holds a route (a handler registered for one method, not `app.use`'s
 * middleware) and no parameters, so what is remembered is bounded by the routes the app registers, whatever paths
 * clients send (a path that matches only middleware, a 404, is searched every time). A match does not depend on
 * anything but the method and the path, and Hono reads a match without changing it.
 */
export class RememberingRouter<T> implements Router<T> {
  readonly name = "RememberingRouter";
  readonly #router: Router<T> = new SmartRouter<T>({ routers: [new RegExpRouter<T>(), new TrieRouter<T>()] });
  readonly #routeHandlers = new Set<T>();
  readonly #matches = new Map<string, Result<T>>();

  add(method: string, path: string, handler: T): void {
    if (method !== ANY_METHOD) this.#routeHandlers.add(handler);
    this.#router.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    const known = this.#matches.get(key);
    if (known) return known;
    const result = this.#router.match(method, path);
    if (this.#remembers(result)) this.#matches.set(key, result);
    return result;
  }

  #remembers(result: Result<T>): boolean {
    let route = false;
    for (const [handler, params] of result[0]) {
      for (const _ in params) return false;
      if (this.#routeHandlers.has(handler)) route = true;
    }
    return route;
  }
}
