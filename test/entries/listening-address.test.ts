import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app";
import { nodeClientAddress } from "../../functions/entries/client-address";
import { nodeEnvSchema, parseEnv } from "../../functions/entries/env";
import { isLoopbackAddress } from "../../functions/lib/addresses";
import { createTestApp, type TestApp } from "../support/app";
import { testTarget } from "../support/worker-target";

/**
 * Issue #18, item 5 (SPEC §11 "Listening address"): the Node entry binds 127.0.0.1 unless HOST says otherwise, and
 * the dashboard page carries the demo read key only to a browser on a loopback address.
 */

const DEMO_KEY = "tly_demo_read_key_for_loopback_only";
const demoKeyOf = (html: string) => /<meta name="tally-demo-key" content="([^"]*)">/.exec(html)?.[1];

// these build the Node entry's own app and server in this process: there is no Worker equivalent (the Worker has no
// demo key; its address comes from cf-connecting-ip, tested below through the app's clientAddress dependency)
describe.skipIf(testTarget() === "worker")("the listening address and the demo key", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("binds 127.0.0.1 by default, and HOST when set", () => {
    expect(parseEnv(nodeEnvSchema, {}).HOST).toBe("127.0.0.1");
    expect(parseEnv(nodeEnvSchema, { HOST: "0.0.0.0" }).HOST).toBe("0.0.0.0");
  });

  it("knows loopback addresses in every spelling, and nothing else", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of [undefined, "", "0.0.0.0", "10.0.0.1", "192.0.2.2", "::ffff:10.0.0.1", "fd00::2", "128.0.0.1", "localhost", "127.0.0.1.example.com"])
      expect(isLoopbackAddress(a), String(a)).toBe(false);
  });

  it("pre-fills the demo key for a request from a loopback address only", async () => {
    const from = (address: string | undefined) => createApp({ ...t.deps, dashboardDemoKey: DEMO_KEY, clientAddress: () => address });
    for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) expect(demoKeyOf(await (await from(address).request("/")).text()), address).toBe(DEMO_KEY);
    for (const address of ["192.0.2.2", "fd00::2", "10.1.2.3", undefined])
      expect(demoKeyOf(await (await from(address).request("/")).text()), String(address)).toBe("");
    // without a way to know the address (an entry that passes none), nobody gets the key
    const { clientAddress: _ignored, ...withoutAddress } = t.deps;
    expect(demoKeyOf(await (await createApp({ ...withoutAddress, dashboardDemoKey: DEMO_KEY }).request("/")).text())).toBe("");
  });

  it("reads the client address from the socket on Node, and ignores X-Forwarded-For", async () => {
    const app = createApp({ ...t.deps, dashboardDemoKey: DEMO_KEY, clientAddress: nodeClientAddress });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve) => server.once("listening", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const local = await fetch(`http://127.0.0.1:${port}/`);
      expect(demoKeyOf(await local.text())).toBe(DEMO_KEY);
      expect(nodeClientAddress({ env: {} } as never), "outside @hono/node-server there is no address").toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("does not give the demo key to a client on another address of this machine", async () => {
    const { networkInterfaces } = await import("node:os");
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (!external) return; // a machine with loopback only has no other address to come from
    const app = createApp({ ...t.deps, dashboardDemoKey: DEMO_KEY, clientAddress: nodeClientAddress });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "0.0.0.0" });
    await new Promise<void>((resolve) => server.once("listening", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://${external}:${port}/`, { headers: { "x-forwarded-for": "127.0.0.1" } });
      expect(demoKeyOf(await res.text())).toBe("");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
