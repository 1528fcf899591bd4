/**
 * The README's screenshots: starts the Node entry (`npm start`) on a scratch embedded database, where it seeds the demo
 * organization, opens its dashboard in headless Chromium (/usr/bin/chromium through playwright-core) as a browser on
 * this machine would (no click: the page opens on the demo numbers), and writes `docs/dashboard.png` (the top of the
 * page) and `docs/dashboard-calls.png` (the calls panel with its filters and "Export CSV").
 *
 *   npm run screenshots            # or: npx tsx scripts/screenshots.ts [--port 8799]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "..");
const CHROMIUM = "/usr/bin/chromium";
const portArg = process.argv.indexOf("--port");
const PORT = portArg > 0 ? Number(process.argv[portArg + 1]) : 8799;
/** Seeding the demo organization into a new PGlite takes a while on a busy machine. */
const START_TIMEOUT_MS = 10 * 60_000;

const dataDir = mkdtempSync(join(tmpdir(), "tally-screenshots-"));
const server = spawn(process.execPath, ["--import", "tsx", join(ROOT, "functions/entries/node.ts")], {
  cwd: ROOT,
  env: {
    ...process.env,
    PORT: String(PORT),
    HOST: "127.0.0.1",
    TALLY_DATA_DIR: dataDir,
    TALLY_SCHEDULER: "off",
    LOG_LEVEL: "warn",
    DATABASE_URL: "",
    REDIS_URL: "",
  },
  stdio: ["ignore", "pipe", "inherit"],
});

async function listening(): Promise<string> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error("the server did not start in time")), START_TIMEOUT_MS);
    let out = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const url = /^Dashboard: (\S+)/m.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        done(url);
      }
    });
    server.on("exit", (code) => fail(new Error(`the server exited (${code}) before it listened`)));
  });
}

try {
  const url = await listening();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1100 }, locale: "en-US", deviceScaleFactor: 1 });
    await page.goto(url);
    await page.waitForSelector("body[data-rendered=true]", { timeout: 120_000 });
    await page.screenshot({ path: join(ROOT, "docs/dashboard.png") });
    await page.selectOption("#calls-direction", "inbound");
    await page.waitForSelector('[data-panel="calls"][data-state="ready"]');
    await page.locator('[data-panel="calls"]').screenshot({ path: join(ROOT, "docs/dashboard-calls.png") });
    console.log("wrote docs/dashboard.png and docs/dashboard-calls.png");
  } finally {
    await browser.close();
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((done) => server.once("exit", done));
  rmSync(dataDir, { recursive: true, force: true });
}
