import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { readFileSync } from "node:fs";
import { rows } from "../../functions/db/database";
import { jobContext } from "../../functions/jobs/context";
import { jobNames, jobRegistry, jobsForCron } from "../../functions/jobs/registry";
import { runJob } from "../../functions/jobs/run";
import { refreshRollups } from "../../functions/rollups/refresh";
import { body, ManualClock } from "../support/app";
import { insertAgents, type CallSeed } from "../support/fixtures";
import { addCalls, expectExact } from "../rollups/support";
import { useTestApp } from "../support/use-test-app";

const clock = new ManualClock("2026-11-15T12:00:00Z");
const t = useTestApp({ clock });

const partitions = async () =>
  (
    await rows<{ name: string }>(
      t.database.db,
      sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'calls' ORDER BY 1`,
    )
  ).map((r) => r.name);

describe("maintain-partitions", () => {
  it("creates the coming months ahead and detaches then drops months past retention, never the current one", async () => {
    await t.database.db.execute(sql`SELECT tally_ensure_partitions('2024-01-15T00:00:00Z'::timestamptz, 0, 0)`);
    expect(await partitions()).toContain("calls_202401");
    const report = await runJob("maintain-partitions", { ...jobContext(t.deps), config: { partitionRetentionMonths: 12, partitionMonthsAhead: 4 } });
    const names = await partitions();
    expect(names, JSON.stringify(report)).toContain("calls_202703");
    expect(names).toContain("calls_202611");
    expect(names).not.toContain("calls_202401");
    expect(report.partitionsDropped).toEqual(expect.arrayContaining(["calls_202401"]));
    const again = await runJob("maintain-partitions", { ...jobContext(t.deps), config: { partitionRetentionMonths: 12, partitionMonthsAhead: 4 } });
    expect(again.partitionsCreated).toBe(0);
  });

  it("forgets the rollups of the calls it drops in the same transaction, so every answer stays exact", async () => {
    const db = t.database.db;
    const { orgId } = await t.createOrg({ name: "Retention" });
    const agentIds = (await insertAgents(db, orgId, [{ name: "A" }, { name: "B" }])).map((a) => a.id);
    await db.execute(sql`SELECT tally_ensure_partitions('2024-05-15T00:00:00Z'::timestamptz, 0, 0)`);
    const call = (at: string, i: number): CallSeed => ({
      agentId: agentIds[i % 2]!,
      contactIndex: i,
      status: i % 3 ? "completed" : "missed",
      startedAt: new Date(at),
      durationSec: 30 + i,
      creditsUsed: i,
      leadScore: i % 2 ? 40 + i : null,
      milestones: [{ key: "greeting", achieved: i % 2 === 0 }],
      objections: i % 2 ? [{ kind: "price", handled: true }] : [],
    });
    await addCalls(db, orgId, [
      // a month partition past a 12-month retention: dropped
      ...["2024-05-03T09:10:00Z", "2024-05-03T09:50:00Z", "2024-05-20T14:00:00Z"].map(call),
      // before the cutoff too, but in the default partition (no month partition of its own): kept, as are its answers
      ...["2023-02-07T08:20:00Z", "2023-02-07T08:40:00Z"].map((at, i) => call(at, i + 3)),
      // within retention
      ...["2026-10-01T10:00:00Z", "2026-11-15T09:30:00Z", "2026-11-15T11:20:00Z"].map((at, i) => call(at, i + 5)),
    ]);
    await refreshRollups(db, clock.now());
    const cutoff = "2025-11-01T00:00:00Z"; // 12 months before November 2026
    const rolledBefore = async () => {
      const [r] = await rows<{ calls: number; hours: number; agents: number }>(
        db,
        sql`SELECT (SELECT count(*)::int FROM call_rollup_15m WHERE org_id = ${orgId}::uuid AND bucket_start < ${cutoff}::timestamptz) AS calls,
                   (SELECT count(*)::int FROM call_rollup_hourly WHERE org_id = ${orgId}::uuid AND bucket_start < ${cutoff}::timestamptz) AS hours,
                   (SELECT count(*)::int FROM agent_rollup_hourly WHERE org_id = ${orgId}::uuid AND bucket_start < ${cutoff}::timestamptz) AS agents`,
      );
      return r!;
    };
    expect(await rolledBefore()).toEqual({ calls: 5, hours: 3, agents: 5 });
    const all = { from: null, to: null, timezone: "UTC" };

    const report = await runJob("maintain-partitions", { ...jobContext(t.deps), config: { partitionRetentionMonths: 12, partitionMonthsAhead: 4 } });
    expect(report.partitionsDropped, JSON.stringify(report)).toEqual(expect.arrayContaining(["calls_202405"]));
    expect(report).toMatchObject({ rollupCutoff: "2025-11-01T00:00:00.000Z" });
    expect(report.rollupRowsForgotten).toBeGreaterThanOrEqual(5 + 5);
    expect(await rolledBefore(), "no rollup row before the cutoff survives the drop").toEqual({ calls: 0, hours: 0, agents: 0 });
    const [marks] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM rollup_dirty WHERE org_id = ${orgId}::uuid`);
    expect(marks!.n, "the default partition's old calls are marked, read raw until the next refresh").toBe(2);
    await expectExact(db, orgId, all, "right after the drop");
    const [{ n } = { n: -1 }] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM calls WHERE org_id = ${orgId}::uuid`);
    expect(n).toBe(5);
    const [analysis] = await rows<{ milestones: number; objections: number }>(
      db,
      sql`SELECT (SELECT count(*)::int FROM call_milestones WHERE org_id = ${orgId}::uuid) AS milestones,
                 (SELECT count(*)::int FROM call_objections WHERE org_id = ${orgId}::uuid) AS objections`,
    );
    expect(analysis, "the dropped calls' analysis rows went with them, the kept calls' stayed").toEqual({ milestones: 5, objections: 3 });

    await refreshRollups(db, clock.now());
    expect(await rolledBefore(), "the refresh rebuilds the rows of the calls that are still there").toEqual({ calls: 2, hours: 1, agents: 2 });
    await expectExact(db, orgId, all, "after the next refresh");
  });

  it("moves rows that already sit in the default partition into a new month partition", async () => {
    const { orgId, writeKey } = await t.createOrg();
    const res = await t.request("POST", "/api/calls", {
      key: writeKey,
      body: { phoneNumber: "+14155550000", direction: "inbound", status: "completed", startedAt: "2027-09-10T10:00:00Z" },
    });
    expect(res.status).toBe(201);
    const [before] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls_default WHERE org_id = ${orgId}`);
    expect(before!.n).toBe(1);
    await t.database.db.execute(sql`SELECT tally_ensure_partitions('2027-09-01T00:00:00Z'::timestamptz, 0, 0)`);
    const [after] = await rows<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM calls_202709 WHERE org_id = ${orgId}`);
    expect(after!.n).toBe(1);
  });
});

describe("cleanup-invites", () => {
  it("deletes only invitations that expired unaccepted", async () => {
    const { orgId } = await t.createOrg();
    await t.database.db.execute(sql`
      INSERT INTO invites (org_id, email, token, expires_at, accepted_at) VALUES
        (${orgId}, 'a@x.test', ${"tok-a-" + orgId}, '2026-11-01T00:00:00Z', NULL),
        (${orgId}, 'b@x.test', ${"tok-b-" + orgId}, '2026-11-01T00:00:00Z', '2026-10-30T00:00:00Z'),
        (${orgId}, 'c@x.test', ${"tok-c-" + orgId}, '2026-12-01T00:00:00Z', NULL)`);
    const report = await runJob("cleanup-invites", jobContext(t.deps));
    expect(report.deleted).toBeGreaterThanOrEqual(1);
    const left = await rows<{ email: string }>(t.database.db, sql`SELECT email FROM invites WHERE org_id = ${orgId} ORDER BY email`);
    expect(left.map((r) => r.email)).toEqual(["b@x.test", "c@x.test"]);
  });
});

describe("the job runner", () => {
  it("skips a job whose lease another runner holds, and runs it once the lease expires", async () => {
    await t.database.db.execute(sql`
      INSERT INTO job_runs (name, lease_until, lease_holder) VALUES ('cleanup-invites', '2026-11-15T12:01:00Z', 'other')
      ON CONFLICT (name) DO UPDATE SET lease_until = EXCLUDED.lease_until, lease_holder = EXCLUDED.lease_holder`);
    const skipped = await runJob("cleanup-invites", jobContext(t.deps));
    expect(skipped.skipped).toBe(true);
    clock.advance(120_000);
    const ran = await runJob("cleanup-invites", jobContext(t.deps));
    expect(ran.skipped).toBeUndefined();
    const [state] = await rows<{ runs: number; lease_until: string | null }>(
      t.database.db,
      sql`SELECT runs, lease_until FROM job_runs WHERE name = 'cleanup-invites'`,
    );
    expect(state!.lease_until).toBeNull();
  });

  it("POST /api/admin/jobs/{name}/run answers the report; unknown job 404; an organization key 403", async () => {
    const res = await t.request("POST", "/api/admin/jobs/cleanup-invites/run");
    const json = await body(res);
    expect(res.status, JSON.stringify(json)).toBe(200);
    expect(json.data).toMatchObject({ job: "cleanup-invites" });
    expect(typeof json.data.durationMs).toBe("number");
    expect((await t.request("POST", "/api/admin/jobs/nope/run")).status).toBe(404);
    const { writeKey } = await t.createOrg();
    expect((await t.request("POST", "/api/admin/jobs/cleanup-invites/run", { key: writeKey })).status).toBe(403);
  });

  it("every job has a valid cron, and wrangler.toml's crons are exactly the registry's", () => {
    const crons = new Set(jobNames.map((n) => jobRegistry[n].cron));
    for (const cron of crons) expect(jobsForCron(cron).length).toBeGreaterThan(0);
    let toml = "";
    try {
      toml = readFileSync("wrangler.toml", "utf8");
    } catch {
      return expect.fail("wrangler.toml is missing");
    }
    const match = /crons\s*=\s*\[([^\]]*)\]/.exec(toml);
    const declared = new Set([...(match?.[1] ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]));
    expect([...declared].sort()).toEqual([...crons].sort());
  });
});
