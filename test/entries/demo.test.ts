import { describe, expect, it } from "vitest";
import { startupLines, type DemoKeys } from "../../functions/entries/demo";
import { testDbKind } from "../support/database";

const demo: DemoKeys = { orgId: "o-1", organizationName: "Demo Dental", readKey: "tly_read_demo", writeKey: "tly_write_demo", sampleCallId: "c-1" };
const base = "http://localhost:8787";

describe.skipIf(testDbKind() !== "pglite")("what npm start prints (checked once, in the pglite project: no database involved)", () => {
  it("the dashboard's URL first, then curl examples of the overview and the calls list with the demo read key", () => {
    const lines = startupLines({ base, server: "Tally is listening…", demo, demoKeyOnPage: true });
    expect(lines[0]).toMatch(/^Dashboard: http:\/\/localhost:8787\/ /);
    expect(lines[1]).toBe("Try:");
    expect(lines[2]).toBe(`  curl -H "Authorization: Bearer tly_read_demo" "${base}/api/dashboard/overview?days=30"`);
    expect(lines[3]).toBe(`  curl -H "Authorization: Bearer tly_read_demo" "${base}/api/calls?limit=5"`);
    expect(lines.join("\n")).toContain("write key: tly_write_demo");
  });

  it("without a demo organization, a key of the reader's own", () => {
    const lines = startupLines({ base, server: "Tally is listening…", demo: undefined, demoKeyOnPage: false });
    expect(lines[0]).toBe(`Dashboard: ${base}/`);
    expect(lines[2]).toContain('"Authorization: Bearer $TALLY_READ_KEY"');
    expect(lines.join("\n")).not.toContain("write key");
  });
});
