import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/**
 * Debian's Chromium (`apt-get install -y chromium`). The browser suites skip, saying so, where it is absent, except
 * in CI (`CI=true`): there they run and fail, so a missing browser cannot pass CI silently.
 */
export const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
export const runBrowserSuites = hasChromium || process.env.CI === "true";
export const browserSuite = (name: string) => (runBrowserSuites ? name : `${name} (skipped: ${CHROMIUM} is absent — apt-get install -y chromium)`);

/**
 * Flags for this machine's closed network (docs of the node-svc machine): without the background-networking ones,
 * Chromium keeps trying Google's hosts. Playwright adds its own automation flags.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type Browser = { context: BrowserContext; newPage(): Promise<Page>; close(): Promise<void> };

/** Headless Chromium with a fresh user-data dir (removed on close), an en-US locale and a desktop viewport. */
export async function launchBrowser(): Promise<Browser> {
  if (!hasChromium) throw new Error(`${CHROMIUM} is absent: CI runs the browser suites (apt-get install -y chromium)`);
  const userDataDir = mkdtempSync(join(tmpdir(), "tally-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: "en-US",
    timezoneId: "UTC",
    viewport: { width: 1440, height: 1000 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export type LoopbackServer = { url: string; server: Server; close(): Promise<void> };

/** A real Node HTTP server (@hono/node-server) on 127.0.0.1 and a free port, answering with `fetch`. */
export function startServer(fetch: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        server: server as Server,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).close(() => done());
            // keep-alive sockets of the browser would otherwise hold the server open (and keep answering)
            (server as Server).closeAllConnections();
          }),
      });
    });
  });
}

/** Waits until every panel has settled for the current load (`body[data-rendered=true]`). */
export async function waitRendered(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForSelector("body[data-rendered=true]", { timeout });
}

/** The API requests the page sends, by path and query, in order (to count refetches). */
export function recordApiRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/api/")) seen.push(`${url.pathname}${url.search}`);
  });
  return seen;
}
