import { expect } from "vitest";
import type { App } from "../../../functions/hono/env";

/** An answer, read once: status, content type, raw text, headers and how long it took. */
export type Sent = { status: number; contentType: string; text: string; headers: Headers; ms: number };

export type SendOptions = {
  /** the whole Authorization header; null: none */
  authorization?: string | null;
  headers?: Record<string, string>;
  /** raw bytes or text; JSON callers stringify themselves */
  body?: string | Uint8Array | null;
  /** default application/json when there is a body; null: none */
  contentType?: string | null;
};

/** Sends one request to the app in process (no HTTP mock: the app's own fetch handler). */
export async function send(app: App, method: string, url: string, options: SendOptions = {}): Promise<Sent> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.authorization != null) headers.authorization = options.authorization;
  const hasBody = options.body !== undefined && options.body !== null;
  const contentType = options.contentType === undefined ? (hasBody ? "application/json" : null) : options.contentType;
  if (contentType !== null) headers["content-type"] = contentType;
  const started = performance.now();
  const res = await app.request(url, { method, headers, ...(hasBody ? { body: options.body as BodyInit } : {}) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, headers: res.headers, ms: performance.now() - started };
}

export const bearer = (key: string) => `Bearer ${key}`;

/** What a failure message shows of an answer. */
export const describeAnswer = (what: string, res: Sent) => `${what} → ${res.status} ${res.contentType} ${res.text.slice(0, 600)}`;

/** An RFC 9457 problem document whose status matches the HTTP status (SPEC §4). */
export function expectProblem(res: Sent, what: string): Record<string, unknown> {
  expect(res.contentType, describeAnswer(what, res)).toContain("application/problem+json");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON: ${describeAnswer(what, res)}`);
  }
  expect(json, describeAnswer(what, res)).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: res.status,
    detail: expect.any(String),
  });
  return json;
}

/** None of `forbidden` (another organization's ids, secrets) appears in the answer's body or headers. */
export function expectNoneOf(res: Sent, forbidden: readonly string[], what: string): void {
  const haystack = `${res.text}\n${[...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join("\n")}`.toLowerCase();
  for (const needle of forbidden)
    expect(haystack.includes(needle.toLowerCase()), `${what}: the answer carries ${needle}: ${res.text.slice(0, 600)}`).toBe(false);
}
