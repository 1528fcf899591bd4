// Percentiles from raw samples (sorted, nearest-rank), so p95 exists (autocannon's summary has none).
import { loadavg } from "node:os";

export type Summary = { n: number; p50: number; p95: number; p99: number; mean: number; max: number };

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

const round = (x: number) => Math.round(x * 100) / 100;

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    mean: round(mean),
    max: round(sorted.at(-1) ?? NaN),
  };
}

export const load = () => loadavg().map((x) => Math.round(x * 100) / 100) as [number, number, number];

export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)} load ${load()[0]}] ${message}\n`);
}
