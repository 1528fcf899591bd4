import { expect } from "vitest";
import { body, type TestApp } from "../../support/app";

/** Windows every windowed aggregate must refuse with 400 problem+json, and the field each must name. */
export const BAD_WINDOWS: [string, string, string][] = [
  ["days=0", "days=0", "days"],
  ["days=91", "days=91", "days"],
  ["days=abc", "days=abc", "days"],
  ["from after to", "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from"],
  ["an impossible date", "from=2026-02-30T00:00:00Z", "from"],
  ["days with from", "days=3&from=2026-03-01T00:00:00Z", "days"],
];

export async function expectBadWindow(t: TestApp, key: string, path: string, query: string, field: string) {
  const res = await t.request("GET", `${path}?${query}`, { key });
  const json = await body(res);
  expect(res.status, JSON.stringify(json)).toBe(400);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  // zod names query fields `query.<field>`, resolveWindow's own checks name the bare field
  expect(
    json.errors?.some((e: { path: string }) => e.path === field || e.path === `query.${field}`),
    JSON.stringify(json),
  ).toBe(true);
}

/** The statements the last request to `path` sent, from its request log line (auth lookup included). */
export function statementsOfLastRequest(t: TestApp, path: string): number {
  const line = [...t.logs].reverse().find((l) => (l.msg === "request" || l.msg === "slow request") && l.path === path);
  if (!line) throw new Error(`no request log line for ${path}`);
  return line.statements as number;
}

export async function getOk(t: TestApp, path: string, key: string) {
  const res = await t.request("GET", path, { key });
  const json = await body(res);
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}
