import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

/** The entry of the Worker the route suites' `worker` target runs (the deployed handlers over a pinned clock). */
export const TARGET_ENTRY = "test/workers/target/entry.ts";

export type WorkerBundle = { dir: string; script: string; bytes: number; buildMs: number };

/**
 * Builds a Worker exactly as `wrangler deploy` would upload it (`--dry-run --outdir`: wrangler.toml's settings,
 * wrangler's own esbuild and its nodejs_compat shims), offline. `entry` replaces wrangler.toml's `main`.
 */
export async function buildWorker(outdir: string, entry?: string): Promise<WorkerBundle> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const started = performance.now();
  const args = ["deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", outdir];
  const output: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    });
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.once("error", reject);
    child.once("exit", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`wrangler deploy --dry-run failed (${code}):\n${output.join("")}`);
  // wrangler names the script after the entry (worker.js for wrangler.toml's main)
  const name = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!name) throw new Error(`wrangler wrote no script to ${outdir}:\n${output.join("")}`);
  const script = join(outdir, name);
  return { dir: outdir, script, bytes: statSync(script).size, buildMs: Math.round(performance.now() - started) };
}
