import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/** The Node entry (`functions/entries/node.ts`) as `npm start` runs it, in a process of its own on a free loopback port. */
export type NodeEntry = { base: string; output(): string; stop(): Promise<void> };

const children = new Set<ChildProcess>();

/** Kills every entry still running (an entry whose start failed too): for a suite's `afterAll`. */
export function killNodeEntries(): void {
  for (const child of children) child.kill("SIGKILL");
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the entry with this process's environment, `env` added and the variables of `unset` removed, and waits until
 * it answers `/health` (at most `timeoutMs`). `imports` are preloaded after tsx (a module log, say).
 */
export async function startNodeEntry(options: { env: Record<string, string>; unset?: string[]; imports?: string[]; timeoutMs?: number }): Promise<NodeEntry> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", ...options.env };
  for (const name of options.unset ?? []) if (!(name in options.env)) delete env[name];
  const imports = ["tsx", ...(options.imports ?? [])].flatMap((module) => ["--import", module]);
  const child: ChildProcess = spawn(process.execPath, [...imports, "functions/entries/node.ts"], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the entry exited (${child.exitCode}):\n${output}`);
    const up = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`the entry did not answer within ${timeoutMs} ms:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    output: () => output,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
