import { describe, expect, it } from "vitest";
import { body } from "../support/app";
import { useTestApp } from "../support/use-test-app";

const t = useTestApp();

/** `name;dur=x` entries of a Server-Timing header, by name (each name must appear once). */
function serverTiming(res: Response): Record<string, number> {
  const header = res.headers.get("server-timing");
  expect(header, "no Server-Timing header").toBeTruthy();
  const out: Record<string, number> = {};
  for (const entry of header!.split(",")) {
    const [name, ...params] = entry.trim().split(";");
    const dur = params.find((p) => p.startsWith("dur="));
    expect(out[name!], `${name} appears twice in ${header}`).toBeUndefined();
    out[name!] = dur ? Number(dur.slice(4)) : NaN;
  }
  return out;
}

async function timed(method: string, path: string, key: string | null, payload?: unknown) {
  const res = await t.request(method, path, { key, ...(payload === undefined ? {} : { body: payload }) });
  const json = await body(res);
  return { status: res.status, json, timing: serverTiming(res) };
}

describe("Server-Timing", () => {
  it("splits a read route's time into db (the loader) and cache, next to total", async () => {
    const { readKey } = await t.createOrg();
    const miss = await timed("GET", "/api/dashboard/overview", readKey);
    expect(miss.status, JSON.stringify(miss.json)).toBe(200);
    expect(miss.json.meta.cache).toBe("miss");
    expect(Object.keys(miss.timing).sort()).toEqual(["cache", "db", "total"]);
    expect(miss.timing.db).toBeGreaterThan(0);
    expect(miss.timing.cache).toBeGreaterThanOrEqual(0);
    expect(miss.timing.total).toBeGreaterThanOrEqual(miss.timing.db!);

    const hit = await timed("GET", "/api/dashboard/overview", readKey);
    expect(hit.json.meta.cache).toBe("hit");
    expect(Object.keys(hit.timing).sort()).toEqual(["cache", "db", "total"]);
    expect(hit.timing.db).toBe(0); // the key's grant and the overview both came from the cache
    expect(hit.timing.cache).toBeGreaterThanOrEqual(0);
  });

  it("counts a configuration read's loader as db, and a cached one as cache only", async () => {
    const { readKey } = await t.createOrg();
    const miss = await timed("GET", "/api/settings", readKey);
    expect(miss.json.meta.cache).toBe("miss");
    expect(miss.timing.db).toBeGreaterThan(0);
    const hit = await timed("GET", "/api/settings", readKey);
    expect(hit.json.meta.cache).toBe("hit");
    expect(hit.timing.db).toBe(0);
  });

  it("measures an uncached route's service call as db", async () => {
    const { writeKey, readKey } = await t.createOrg();
    const write = await timed("POST", "/api/calls", writeKey, { phoneNumber: "+14155550100", direction: "inbound", status: "completed" });
    expect(write.status, JSON.stringify(write.json)).toBe(201);
    expect(write.timing.db).toBeGreaterThan(0);
    await t.request("GET", "/api/calls", { key: readKey });
    const list = await timed("GET", "/api/calls", readKey);
    expect(list.status).toBe(200);
    expect(list.timing.db).toBeGreaterThan(0);
  });

  it("carries db, cache and total on errors and on routes outside /api too", async () => {
    for (const res of [
      await t.request("GET", "/api/settings", { key: null }),
      await t.request("GET", "/api/nope"),
      await t.request("GET", "/openapi.json", { key: null }),
    ]) {
      expect(Object.keys(serverTiming(res)).sort()).toEqual(["cache", "db", "total"]);
    }
  });
});
