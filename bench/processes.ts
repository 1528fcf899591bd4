// What the benches share about the processes and the database they measure: a server script (the Node entry, the
// bare route) started in a child process on a free loopback port, its CPU time, and the upkeep a deployment's
// Postgres would have done before anyone measures.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import type { Db } from "../functions/db/database";
import { refreshRollups } from "../functions/rollups/refresh";

const root = fileURLToPath(new URL("..", import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (clock ticks of 10 ms): divided by
 * the requests a phase served it is the server's CPU per request, a figure the load of other processes on the
 * machine moves far less than req/s or latency (they take cores away, not instructions).
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14 and 15 of the line)
}

export type ServerProcess = { base: string; cpuMs: () => number; stop: () => Promise<void> };

/**
 * `script` (a path from the repository's root, run through tsx as `npm start` runs the entry) in a child process
 * listening on a free loopback port, once it prints "Tally is listening"; `env` is added to this process's own.
 */
export async function startServer(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Tally is listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${script} exited (${code}) before listening: ${out}`)));
  });
  child.stdout.resume();
  return {
    base: `http://127.0.0.1:${port}`,
    cpuMs: () => cpuMsOf(child.pid!),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * The state a deployment is in between two requests, made before measuring: the minute's `refresh-rollups` has run
 * (so the raw rows after the watermark are minutes' worth, not whatever earlier runs wrote), and autovacuum has
 * vacuumed and analyzed the rollups, their change log, the calls and the appointments (the reads that are index-only scans). This machine's server runs with autovacuum off:
 * without it fresh rollup rows have no visibility map (the covering primary keys' index-only scans fetch every heap row)
 * and no statistics (the planner takes the tables for empty and, say, nested-loops 8,296 rollup rows into
 * `rollup_dirty`: 16,592 buffer hits for an empty table). Answers how many refresh runs it took.
 */
export async function settleLikeDeployment(db: Db): Promise<number> {
  let runs = 1;
  while (!(await refreshRollups(db, new Date())).caughtUp && runs < 100) runs++;
  for (const table of [
    "call_rollup_15m",
    "call_rollup_hourly",
    "agent_rollup_hourly",
    "agent_rollup_daily",
    "rollup_dirty",
    "rollup_agent_delta",
    "calls",
    "appointments",
  ])
    await db.execute(sql.raw(`VACUUM (ANALYZE) ${table}`));
  return runs;
}
