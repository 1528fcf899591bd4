/**
 * What an ETag costs a GET answer (SPEC §11), in process (`app.request`, no network): a bare Hono route answering
 * JSON (the floor), the same route behind the app's `httpCaching` middleware (a hash of the text `c.json` serializes)
 * and behind Hono's `hono/etag` (weak; clones the Response, re-reads its stream, WebCrypto SHA-1), for a small answer
 * (an overview-sized object) and a large one (90 days of coverage, 2,160 cells), each also revalidated to a 304.
 *
 *   npx tsx bench/etag.ts [--iterations 3000]
 *
 * Prints µs per request (mean of the iterations after a warm-up) and the ratio to the floor, with the load average.
 */
import { loadavg } from "node:os";
import { Hono, type MiddlewareHandler } from "hono";
import { etag } from "hono/etag";
import { httpCaching } from "../functions/middleware/http-caching";

const arg = process.argv.indexOf("--iterations");
const ITERATIONS = arg > 0 ? Number(process.argv[arg + 1]) : 3000;
const WARMUP = 300;

const small = {
  data: {
    calls: { total: 20113, completed: 15021, successRate: 0.7468, totalDurationSec: 2871233, avgDurationSec: 191.1 },
    leads: { total: 14000, qualified: 4100, conversionRate: 0.29, avgScore: 55.2, booked: 2100 },
    recentActivity: Array.from({ length: 10 }, (_, i) => ({
      id: `00000000-0000-4000-8000-00000000000${i}`,
      status: "completed",
      direction: "inbound",
      startedAt: "2026-12-02T09:00:00.000Z",
      durationSec: 120 + i,
      agent: { id: "00000000-0000-4000-8000-0000000000aa", name: "Ava" },
      contact: { id: "00000000-0000-4000-8000-0000000000bb", name: "Zoë", phone: "+14155550100" },
    })),
  },
  meta: { asOf: "2026-12-02T09:00:00.000Z", cache: "hit", ttlSec: 30 },
};
const large = {
  data: Array.from({ length: 90 * 24 }, (_, i) => ({
    date: `2026-09-${String((i % 30) + 1).padStart(2, "0")}`,
    hour: i % 24,
    agentSeconds: i * 37,
    coveredSeconds: i * 13,
  })),
  meta: small.meta,
};

function appWith(middleware: MiddlewareHandler | null, answer: object): Hono {
  const app = new Hono();
  if (middleware) app.use("/api/*", middleware);
  app.get("/api/x", (c) => c.json(answer));
  return app;
}

async function measure(app: Hono, headers: Record<string, string> = {}): Promise<{ us: number; status: number }> {
  let status = 0;
  for (let i = 0; i < WARMUP; i++) await (await app.request("/api/x", { headers })).arrayBuffer();
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const res = await app.request("/api/x", { headers });
    await res.arrayBuffer();
    status = res.status;
  }
  return { us: ((performance.now() - started) / ITERATIONS) * 1000, status };
}

console.log(`load average (1 min) at start: ${loadavg()[0]!.toFixed(2)}; ${ITERATIONS} requests each`);
console.log("| answer | bytes | floor (bare route) µs | httpCaching µs (÷ floor) | 304 µs | hono/etag µs (÷ floor) | 304 µs |");
console.log("|---|---|---|---|---|---|---|");
for (const [name, answer] of [
  ["small", small],
  ["large", large],
] as const) {
  const bytes = JSON.stringify(answer).length;
  const floor = await measure(appWith(null, answer));
  const ours = appWith(httpCaching as unknown as MiddlewareHandler, answer);
  const oursFull = await measure(ours);
  const oursTag = (await ours.request("/api/x")).headers.get("etag")!;
  const ours304 = await measure(ours, { "if-none-match": oursTag });
  const hono = appWith(etag({ weak: true }), answer);
  const honoFull = await measure(hono);
  const honoTag = (await hono.request("/api/x")).headers.get("etag")!;
  const hono304 = await measure(hono, { "if-none-match": honoTag });
  if (ours304.status !== 304 || hono304.status !== 304) throw new Error("a revalidation did not answer 304");
  const f = (us: number) => us.toFixed(1);
  const r = (us: number) => (us / floor.us).toFixed(2);
  console.log(
    `| ${name} | ${bytes} | ${f(floor.us)} | ${f(oursFull.us)} (${r(oursFull.us)}) | ${f(ours304.us)} (${r(ours304.us)}) | ${f(honoFull.us)} (${r(honoFull.us)}) | ${f(hono304.us)} (${r(hono304.us)}) |`,
  );
}
console.log(`load average (1 min) at end: ${loadavg()[0]!.toFixed(2)}`);
