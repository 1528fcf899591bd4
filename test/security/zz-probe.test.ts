import { it } from "vitest";
import { ADMIN_KEY, createTestApp } from "../support/app";
import { installWriteCounter, orgChecksum, writeCount } from "./support/fingerprint";
import { buildWorld } from "./support/world";
import { send, bearer } from "./support/http";
it("probe", async () => {
  const t = await createTestApp({ rateLimit: false });
  await installWriteCounter(t.database.db);
  let s = performance.now();
  const w = await buildWorld(t, ADMIN_KEY);
  console.log("world", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 20; i++) await orgChecksum(t.database.db, w.foreign.orgId); console.log("checksum x20", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 100; i++) await writeCount(t.database.db); console.log("writeCount x100", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 100; i++) await send(t.app, "GET", "/api/settings", { authorization: bearer(w.own.readKey) }); console.log("GET settings x100", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 100; i++) await send(t.app, "GET", "/api/settings", { authorization: "Bearer tly_w_" + "Q".repeat(32) }); console.log("401 x100", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 100; i++) await send(t.app, "POST", "/api/services", { authorization: bearer(w.own.writeKey), body: '{"name":1}' }); console.log("400 x100", performance.now() - s);
  s = performance.now(); for (let i = 0; i < 20; i++) await send(t.app, "POST", "/api/services", { authorization: bearer(w.own.writeKey), body: '{"name":"x","priceCents":1}' }); console.log("201 x20", performance.now() - s);
  await t.close();
}, 600000);
