import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDashboard, GENERATED_MODULE, typecheckDashboard } from "../../scripts/build-dashboard";
import { testDbKind } from "../support/database";

/** These touch no database: once per run is enough (the pglite project), not once per database project. */
const databaseFree = testDbKind() === "pglite";

describe.skipIf(!databaseFree)(`the dashboard's generated module${databaseFree ? "" : " (checked in the pglite project: no database involved)"}`, () => {
  it("equals a fresh build of dashboard/ (run `npm run build:dashboard` after changing the page)", async () => {
    const fresh = await buildDashboard();
    const committed = readFileSync(GENERATED_MODULE, "utf8");
    // compared as booleans first: a diff of two 80 KiB one-line strings helps nobody
    expect(committed === fresh.module, `${GENERATED_MODULE} is stale: run npm run build:dashboard`).toBe(true);
  });

  it("inlines uPlot's script and styles and leaves no template slot unfilled", async () => {
    const { html, bytes } = await buildDashboard();
    // booleans: a failure message holding the 80 KiB page helps nobody
    expect(html.includes("<!--tally:"), "a template slot is left").toBe(false);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    expect(style.includes(".u-legend") && style.includes(".kpi-value"), "uPlot's or the page's CSS is missing").toBe(true);
    expect(script.includes('"u-legend"'), "uPlot's script is missing").toBe(true);
    // a budget that notices an accidental second copy of a library
    expect(bytes.html).toBeLessThan(150 * 1024);
  });

  it("type-checks under its own tsconfig (DOM libs; the API's response types)", () => {
    const check = typecheckDashboard();
    expect(check.ok, check.output).toBe(true);
  }, 180_000);
});
