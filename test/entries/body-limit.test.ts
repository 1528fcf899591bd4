import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REDIS_URL } from "../cache/support";
import { createTestDatabase, type TestDatabase, testDbKind } from "../support/database";
import { killNodeEntries, type NodeEntry, startNodeEntry } from "../support/node-entry";

/**
 * SPEC §4's 1 MiB body limit on the Node entry as `npm start` runs it, over real HTTP: a body sent with its
 * Content-Length is judged by that header (the app does not ask the server for the body stream), a chunked one as it
 * streams; either way a body over 1 MiB is refused with 413 and writes nothing, and one within it is read and written.
 * In-process requests carry no Content-Length, so only a real socket reaches the header's path. On the Postgres project
 * only, as the other entry suites: the entry needs a database of its own.
 */
const ADMIN_KEY = "body-limit-test-admin-key-0123";
const MIB = 1024 * 1024;

let database: TestDatabase | undefined;
let entry: NodeEntry | undefined;
let writeKey = "";
const onPostgres = testDbKind() === "postgres";

beforeAll(async () => {
  if (!onPostgres) return;
  database = await createTestDatabase();
  entry = await startNodeEntry({
    env: { DATABASE_URL: database.url!, REDIS_URL, TALLY_DEMO: "off", TALLY_SCHEDULER: "off", TALLY_ADMIN_KEY: ADMIN_KEY },
    unset: ["OTEL_EXPORTER_OTLP_ENDPOINT"],
  });
  const created = await fetch(`${entry.base}/api/admin/organizations`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Body limit", timezone: "UTC" }),
  });
  expect(created.status).toBe(201);
  writeKey = ((await created.json()) as { data: { apiKey: string } }).data.apiKey;
}, 180_000);
afterAll(async () => {
  await entry?.stop();
  killNodeEntries();
  await database?.drop();
});

/** A batch of one good call, padded with spaces to exactly `bytes` bytes (whitespace is valid JSON). */
function batchOf(bytes: number, phoneNumber: string): string {
  const text = JSON.stringify({ calls: [{ phoneNumber, direction: "inbound", status: "completed", durationSec: 30 }] });
  return text + " ".repeat(bytes - text.length);
}

/** The body in 64 KiB chunks of a stream: fetch sends it chunked, with no Content-Length. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, (at += 64 * 1024)));
    },
  });
}

async function post(body: string | ReadableStream<Uint8Array>) {
  const res = await fetch(`${entry!.base}/api/calls/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${writeKey}`, "content-type": "application/json" },
    body,
    ...(typeof body === "string" ? {} : { duplex: "half" }),
  } as RequestInit);
  return { status: res.status, json: (await res.json()) as any };
}

async function callsWith(phoneNumber: string): Promise<number> {
  const res = await fetch(`${entry!.base}/api/contacts/by-phone/${encodeURIComponent(phoneNumber)}/calls`, {
    headers: { authorization: `Bearer ${writeKey}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { meta: { total: number } }).meta.total;
}

describe.skipIf(!onPostgres)("the Node entry's 1 MiB body limit (SPEC §4)", () => {
  it.each([
    ["with its Content-Length", false],
    ["chunked", true],
  ] as const)("a body %s: 1 MiB is written, 1 MiB + 1 byte is refused with 413 and writes nothing", async (_how, streamed) => {
    const [within, over] = streamed ? ["+14155550201", "+14155550202"] : ["+14155550101", "+14155550102"];
    const refused = await post(streamed ? chunked(batchOf(MIB + 1, over)) : batchOf(MIB + 1, over));
    expect(refused.status, JSON.stringify(refused.json)).toBe(413);
    expect(refused.json).toMatchObject({ status: 413 });
    expect(await callsWith(over)).toBe(0);
    const written = await post(streamed ? chunked(batchOf(MIB, within)) : batchOf(MIB, within));
    expect(written.status, JSON.stringify(written.json)).toBe(200);
    expect(await callsWith(within)).toBe(1);
  });
});
