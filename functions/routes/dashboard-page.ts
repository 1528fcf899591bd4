import type { Context } from "hono";
import { DASHBOARD_BUILD_ID, DASHBOARD_HTML, DASHBOARD_SCRIPT_SHA256 } from "../dashboard/assets.generated";
import type { App, AppEnv } from "../hono/env";
import { isLoopbackAddress } from "../lib/addresses";

/** The slot of dashboard/index.html that carries the demo read key to the page (empty unless the entry passes one). */
export const DEMO_KEY_SLOT = '<meta name="tally-demo-key" content="">';

/**
 * The page may run its own inline script (by hash) and talk to this origin only: nothing loads from a CDN, and a
 * script injected into the page could not send the stored API key elsewhere.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src '${DASHBOARD_SCRIPT_SHA256}'`,
  // uPlot sizes its elements through style attributes
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const escapeAttribute = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** FNV-1a: a short, stable tag of the demo key for the ETag (not a secret: the page itself carries the key). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

type Page = { html: string; etag: string };
const pages = new Map<string, Page>();

/** The page for a demo key ("" for none), built once per key: the generated HTML with the key in its meta slot. */
export function dashboardPage(demoKey: string): Page {
  let page = pages.get(demoKey);
  if (!page) {
    const html = demoKey ? DASHBOARD_HTML.replace(DEMO_KEY_SLOT, () => `<meta name="tally-demo-key" content="${escapeAttribute(demoKey)}">`) : DASHBOARD_HTML;
    page = { html, etag: `"${DASHBOARD_BUILD_ID}${demoKey ? `-${fnv1a(demoKey)}` : ""}"` };
    pages.set(demoKey, page);
  }
  return page;
}

/** SPEC §11: the demo key goes only to a browser on this machine, never to anyone else on the network. */
function demoKeyFor(c: Context<AppEnv>): string {
  const { dashboardDemoKey, clientAddress } = c.get("deps");
  return dashboardDemoKey && isLoopbackAddress(clientAddress?.(c)) ? dashboardDemoKey : "";
}

function serve(c: Context<AppEnv>) {
  const page = dashboardPage(demoKeyFor(c));
  const headers = {
    etag: page.etag,
    // revalidated on every visit (a new build or a new demo key shows at once); the ETag makes that a 304
    "cache-control": "no-cache",
    "content-security-policy": DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  const ifNoneMatch = c.req.header("if-none-match");
  if (ifNoneMatch?.split(",").some((tag) => tag.trim().replace(/^W\//, "") === page.etag)) {
    return c.body(null, 304, headers);
  }
  return c.html(page.html, 200, headers);
}

/** `GET /`: the dashboard (not part of the OpenAPI document: it is a page, not an API). */
export function register(app: App) {
  app.get("/", serve);
}
