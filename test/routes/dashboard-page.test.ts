import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { DASHBOARD_BUILD_ID, DASHBOARD_HTML } from "../../functions/dashboard/assets.generated";
import { DEMO_KEY_SLOT } from "../../functions/routes/dashboard-page";
import { createTestApp, type TestApp } from "../support/app";
import type { App } from "../../functions/hono/env";

let t: TestApp;
let withDemo: App;
const DEMO_KEY = 'tly_demo_read_key_<&">';

beforeAll(async () => {
  t = await createTestApp();
  // a browser on this machine (SPEC §11: the demo key goes to loopback clients only; test/entries/listening-address.test.ts)
  withDemo = createApp({ ...t.deps, dashboardDemoKey: DEMO_KEY, clientAddress: () => "127.0.0.1" });
});
afterAll(async () => {
  await t?.close();
});

const demoKeyOf = (html: string) => /<meta name="tally-demo-key" content="([^"]*)">/.exec(html)?.[1];

describe("GET / (the dashboard page)", () => {
  it("answers the generated page as HTML, revalidated on every visit, without asking for a key", async () => {
    const res = await t.request("GET", "/", { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8/i);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("etag")).toBe(`"${DASHBOARD_BUILD_ID}"`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
    const html = await res.text();
    expect(html).toBe(DASHBOARD_HTML);
    expect(demoKeyOf(html)).toBe("");
  });

  it("holds everything it runs: one inline script allowed by its hash, no script or stylesheet from elsewhere", async () => {
    const res = await t.request("GET", "/", { key: null });
    const html = await res.text();
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+rel="?stylesheet/);
    expect(html).not.toMatch(/@import/);
    expect(html).toContain(".uplot");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    // the hash in the policy is the hash of the inline script, or the browser would refuse to run it
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script))).toString("base64");
    expect(csp).toContain(`'sha256-${digest}'`);
  });

  it("is compressed for a client that accepts gzip", async () => {
    const res = await t.request("GET", "/", { key: null, headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBeLessThan(DASHBOARD_HTML.length / 2);
    expect(gunzipSync(bytes).toString("utf8")).toBe(DASHBOARD_HTML);
  });

  it("answers 304 to a revalidation with the current ETag", async () => {
    const etag = (await t.request("GET", "/", { key: null })).headers.get("etag")!;
    const res = await t.request("GET", "/", { key: null, headers: { "if-none-match": `W/${etag}` } });
    expect(res.status).toBe(304);
    expect(await res.text()).toBe("");
    const stale = await t.request("GET", "/", { key: null, headers: { "if-none-match": '"an-older-build"' } });
    expect(stale.status).toBe(200);
  });

  it("carries the demo read key, escaped, only when the entry passes one, under another ETag", async () => {
    const res = await withDemo.request("/");
    const html = await res.text();
    expect(demoKeyOf(html)).toBe("tly_demo_read_key_&#60;&#38;&#34;&#62;");
    expect(html.replace(/<meta name="tally-demo-key" content="[^"]*">/, DEMO_KEY_SLOT)).toBe(DASHBOARD_HTML);
    expect(res.headers.get("etag")).toMatch(new RegExp(`^"${DASHBOARD_BUILD_ID}-[0-9a-f]{8}"$`));
  });

  it("is a page, not an API route: absent from the OpenAPI document", async () => {
    const doc = (await (await t.request("GET", "/openapi.json", { key: null })).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).not.toContain("/");
  });
});
