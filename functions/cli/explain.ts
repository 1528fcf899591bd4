// `npm run explain -- [--org <id>] [--threshold 100000] [--json]`
//
// Prints the plan (EXPLAIN ANALYZE, BUFFERS) of every statement the hot read routes send, against the configured
// database (DATABASE_URL, else the embedded PGlite of TALLY_DATA_DIR), at its busiest organization. The statements are
// not copied here: the real app answers each route once through a database handle that records what it sends, so
// the plans are those of the code as it is. Exits 1 when any plan sequentially scans a relation of `calls`,
// `widget_pageviews` or `agent_sessions` (the table or one of its partitions) that holds more than --threshold rows.
//
// It creates one read key for the organization (name "npm run explain") and deletes it before it exits; every
// statement is explained inside a transaction that is rolled back, so nothing else is written.
import { parseArgs } from "node:util";
import { createApp } from "../app";
import { memoryCache } from "../cache/memory";
import { StatementCounter, type Database } from "../db/database";
import { systemClock } from "../lib/clock";
import { silentLogger } from "../lib/logger";
import { encodeCursor } from "../read-models/calls-list";
import { createApiKey } from "../services/organizations";
import { openConfiguredDatabase } from "./open-database";
import { memoryDeliveryLedger } from "../cache/delivery-ledger";

const { values: opts } = parseArgs({
  options: {
    org: { type: "string" },
    threshold: { type: "string", default: "100000" },
    json: { type: "boolean", default: false },
  },
  strict: true,
});
const threshold = Number(opts.threshold);
if (!Number.isInteger(threshold) || threshold < 0) {
  console.error(`--threshold must be a non-negative integer (got ${opts.threshold})`);
  process.exit(2);
}

/** The tables whose sequential scans fail the check (SPEC §4: every hot query is served by an index). */
const GUARDED_TABLES = ["calls", "widget_pageviews", "agent_sessions"] as const;

/** Runs SQL with positional parameters, raw, on whichever driver is configured. */
type RawQuery = <T>(text: string, params: readonly unknown[]) => Promise<T[]>;
/** Runs `fn` in a transaction that is always rolled back. */
type RolledBack = <T>(fn: (query: RawQuery) => Promise<T>) => Promise<T>;

/** The configured database with raw parameterised queries on its own driver (EXPLAIN takes the routes' SQL as sent). */
async function openDatabase(): Promise<{ database: Database; query: RawQuery; rolledBack: RolledBack; where: string }> {
  // hot queries take milliseconds; the long timeout is for EXPLAIN ANALYZE on a database without its indexes
  const database = await openConfiguredDatabase({ statementTimeoutMs: 120_000 });
  const where = database.location;
  if (database.kind === "postgres") {
    const { client } = database;
    const query: RawQuery = async <T>(text: string, params: readonly unknown[]) => (await client.unsafe(text, params as never[])) as unknown as T[];
    const rolledBack: RolledBack = async (fn) => {
      let result: Awaited<ReturnType<typeof fn>> | undefined;
      const rollback = new Error("rollback");
      await client
        .begin(async (tx) => {
          result = await fn(async <T>(text: string, params: readonly unknown[]) => (await tx.unsafe(text, params as never[])) as unknown as T[]);
          throw rollback;
        })
        .catch((error: unknown) => {
          if (error !== rollback) throw error;
        });
      return result as Awaited<ReturnType<typeof fn>>;
    };
    return { database, query, rolledBack, where };
  }
  const { client } = database;
  const query: RawQuery = async <T>(text: string, params: readonly unknown[]) => (await client.query<T>(text, params as unknown[])).rows;
  const rolledBack: RolledBack = (fn) =>
    client.transaction(async (tx) => {
      const result = await fn(async <T>(text: string, params: readonly unknown[]) => (await tx.query<T>(text, params as unknown[])).rows);
      await tx.rollback();
      return result;
    });
  return { database, query, rolledBack, where };
}

type Statement = { route: string; text: string; params: unknown[] };

/** A statement counter that also keeps what it counts, tagged with the route being answered. */
class StatementRecorder extends StatementCounter {
  route = "";
  readonly statements: Statement[] = [];
  override logQuery(text = "", params: unknown[] = []): void {
    super.logQuery();
    this.statements.push({ route: this.route, text, params });
  }
}

/** Counts for the app's own counter (its logs and Server-Timing) and records into the recorder. */
class TeeCounter extends StatementCounter {
  constructor(
    private readonly app: StatementCounter,
    private readonly recorder: StatementRecorder,
  ) {
    super();
  }
  override logQuery(text = "", params: unknown[] = []): void {
    super.logQuery();
    this.app.logQuery();
    this.recorder.logQuery(text, params);
  }
}

/** The database the app is given: every per-request handle records its statements into `recorder`. */
function recording(database: Database, recorder: StatementRecorder): Database {
  return { ...database, withCounter: (counter) => database.withCounter(new TeeCounter(counter, recorder)) };
}

type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  Alias?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Actual Total Time"?: number;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  "Subplans Removed"?: number;
  Plans?: PlanNode[];
};
type ExplainJson = [{ Plan: PlanNode; "Execution Time": number; "Planning Time": number }];

function* walk(node: PlanNode, depth = 0): Generator<{ node: PlanNode; depth: number }> {
  yield { node, depth };
  for (const child of node.Plans ?? []) yield* walk(child, depth + 1);
}

function describeNode(node: PlanNode): string {
  const on = node["Relation Name"] ? ` on ${node["Relation Name"]}${node.Alias && node.Alias !== node["Relation Name"] ? ` ${node.Alias}` : ""}` : "";
  const using = node["Index Name"] ? ` using ${node["Index Name"]}` : "";
  const actual =
    node["Actual Rows"] === undefined
      ? ""
      : ` (rows=${node["Actual Rows"]} loops=${node["Actual Loops"]} time=${node["Actual Total Time"]?.toFixed(3)} ms` +
        `${node["Shared Hit Blocks"] || node["Shared Read Blocks"] ? ` buffers hit=${node["Shared Hit Blocks"] ?? 0} read=${node["Shared Read Blocks"] ?? 0}` : ""})`;
  const pruned = node["Subplans Removed"] ? ` [${node["Subplans Removed"]} partitions pruned]` : "";
  return `${node["Node Type"]}${using}${on}${actual}${pruned}`;
}

const { database, query, rolledBack, where } = await openDatabase();
let keyId: string | undefined;
let failed = false;
try {
  // the guarded relations (tables and their partitions) with their exact row counts
  const relations = await query<{ relation: string; parent: string }>(
    `SELECT c.relname AS relation, coalesce(p.relname, c.relname) AS parent
       FROM pg_class c
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
       LEFT JOIN pg_class p ON p.oid = i.inhparent
      WHERE c.relkind IN ('r', 'p') AND coalesce(p.relname, c.relname) = ANY($1::text[])`,
    [GUARDED_TABLES],
  );
  const rowCounts = new Map<string, number>();
  for (const { relation } of relations) {
    const [r] = await query<{ n: string }>(`SELECT count(*)::text AS n FROM "${relation.replace(/"/g, '""')}"`, []);
    rowCounts.set(relation, Number(r?.n ?? 0));
  }
  const parentOf = new Map(relations.map((r) => [r.relation, r.parent]));

  const [org] = opts.org
    ? await query<{ id: string; name: string; calls: string }>(
        `SELECT o.id, o.name, (SELECT count(*) FROM calls c WHERE c.org_id = o.id)::text AS calls FROM organizations o WHERE o.id::text = $1`,
        [opts.org],
      )
    : await query<{ id: string; name: string; calls: string }>(
        `SELECT o.id, o.name, t.calls::text AS calls FROM (SELECT org_id, count(*) AS calls FROM calls GROUP BY org_id ORDER BY 2 DESC LIMIT 1) t JOIN organizations o ON o.id = t.org_id`,
        [],
      );
  if (!org) throw new Error(opts.org ? `no organization ${opts.org}` : "the database holds no calls: seed it first (npm run seed)");

  // fixtures the routes need: one agent, one phone, a cursor deep into the list, a reconnectable token if any
  const [agent] = await query<{ id: string }>(`SELECT agent_id AS id FROM calls WHERE org_id = $1 AND agent_id IS NOT NULL ORDER BY started_at DESC LIMIT 1`, [
    org.id,
  ]);
  const [contact] = await query<{ phone: string }>(
    `SELECT ct.phone FROM calls c JOIN contacts ct ON ct.id = c.contact_id WHERE c.org_id = $1 ORDER BY c.started_at DESC LIMIT 1`,
    [org.id],
  );
  const [call] = await query<{ id: string }>(`SELECT id FROM calls WHERE org_id = $1 ORDER BY started_at DESC LIMIT 1`, [org.id]);

  const key = await createApiKey(database.db, { orgId: org.id, scope: "read", name: "npm run explain" });
  keyId = key.id;
  const adminKey = `explain-admin-${crypto.randomUUID()}`;
  const recorder = new StatementRecorder();
  const app = createApp({
    database: recording(database, recorder),
    cache: memoryCache(systemClock),
    clock: systemClock,
    logger: silentLogger,
    webhookReplays: memoryDeliveryLedger(systemClock),
    adminKey,
    rateLimit: false,
  });
  const get = async (path: string, admin = false): Promise<Response> =>
    app.request(path, { headers: { authorization: `Bearer ${admin ? adminKey : key.apiKey}` } });
  const post = async (path: string, body: unknown): Promise<Response> =>
    app.request(path, { method: "POST", headers: { authorization: `Bearer ${key.apiKey}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  // the deep page: the keyset cursor of the call halfway down the list (at most 100k calls deep)
  const [deep] = await query<{ at: string; id: string }>(
    `SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, id FROM calls WHERE org_id = $1
      ORDER BY started_at DESC, id DESC OFFSET $2 LIMIT 1`,
    [org.id, Math.min(100_000, Math.floor(Number(org.calls) / 2))],
  );
  const deepCursor = deep ? encodeCursor({ startedAt: deep.at, id: deep.id }) : null;
  const [state] = await query<{ built_to: string | null }>(`SELECT built_to::text FROM rollup_state WHERE id = 1`, []);
  const routes: [string, () => Promise<Response>][] = [
    // the first request of a key looks the key up (later ones find it cached), so its statements are listed apart
    ["GET /api/settings (first request: the API-key lookup, then settings)", () => get("/api/settings")],
    ["GET /api/dashboard/overview?days=30", () => get("/api/dashboard/overview?days=30")],
    ["GET /api/dashboard/overview?days=30&compare=previous", () => get("/api/dashboard/overview?days=30&compare=previous")],
    ["GET /api/dashboard/analytics?days=90", () => get("/api/dashboard/analytics?days=90")],
    ["GET /api/agents", () => get("/api/agents")],
    ["GET /api/analytics/agent-variance?days=30", () => get("/api/analytics/agent-variance?days=30")],
    ...(agent
      ? [[`GET /api/agents/{id}/performance?days=30`, () => get(`/api/agents/${agent.id}/performance?days=30`)] as [string, () => Promise<Response>]]
      : []),
    ["GET /api/calls?limit=20", () => get("/api/calls?limit=20")],
    ...(deepCursor
      ? [
          ["GET /api/calls?limit=20&cursor=<deep>", () => get(`/api/calls?limit=20&cursor=${encodeURIComponent(deepCursor)}`)] as [
            string,
            () => Promise<Response>,
          ],
        ]
      : []),
    ["GET /api/calls?direction=inbound&status=completed", () => get("/api/calls?direction=inbound&status=completed&limit=20")],
    ...(agent ? [[`GET /api/calls?agentId=…`, () => get(`/api/calls?agentId=${agent.id}&limit=20`)] as [string, () => Promise<Response>]] : []),
    ...(contact
      ? [
          ["GET /api/contacts/by-phone/{phone}/calls", () => get(`/api/contacts/by-phone/${encodeURIComponent(contact.phone)}/calls`)] as [
            string,
            () => Promise<Response>,
          ],
        ]
      : []),
    ...(call ? [["GET /api/calls/{id}", () => get(`/api/calls/${call.id}`)] as [string, () => Promise<Response>]] : []),
    ["POST /api/calls/reconnect", () => post("/api/calls/reconnect", { token: "explain-no-such-token" })],
    ["POST /api/calls/route", () => post("/api/calls/route", { phoneNumber: contact?.phone ?? "+14155550123" })],
    ["GET /api/coverage?days=7", () => get("/api/coverage?days=7")],
    ["GET /api/admin/organizations?sort=calls30d", () => get("/api/admin/organizations?sort=calls30d", true)],
  ];
  recorder.statements.length = 0;
  for (const [route, send] of routes) {
    recorder.route = route;
    const res = await send();
    if (res.status >= 500) throw new Error(`${route} answered ${res.status}: ${await res.text()}`);
  }

  const results: { route: string; statement: number; sql: string; executionMs: number; seqScans: { relation: string; rows: number; guarded: boolean }[] }[] =
    [];
  const lines: string[] = [];
  lines.push(`npm run explain — ${where}, organization ${org.name} (${org.id}, ${org.calls} calls)`);
  lines.push(`row counts: ${[...rowCounts].map(([r, n]) => `${r} ${n}`).join(", ")}`);
  lines.push(
    `fails on a sequential scan of a relation of ${GUARDED_TABLES.join(", ")} holding more than ${threshold} rows (scans of empty partitions are not listed)`,
  );
  lines.push(
    state?.built_to
      ? `rollups built to ${state.built_to}: reads take rollup rows before it and raw rows after`
      : "rollups not built yet: every read is raw (run `npm run job -- refresh-rollups` until caught up to see the rollup plans)",
  );
  const perRoute = new Map<string, number>();
  for (const s of recorder.statements) {
    const n = (perRoute.get(s.route) ?? 0) + 1;
    perRoute.set(s.route, n);
    const [explained] = await rolledBack((q) => q<{ "QUERY PLAN": ExplainJson }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${s.text}`, s.params));
    const plan = explained!["QUERY PLAN"][0];
    const seqScans = [...walk(plan.Plan)]
      .filter(({ node }) => node["Node Type"] === "Seq Scan" && node["Relation Name"] !== undefined && parentOf.has(node["Relation Name"]))
      .map(({ node }) => {
        const rowsIn = rowCounts.get(node["Relation Name"]!) ?? 0;
        return { relation: node["Relation Name"]!, rows: rowsIn, guarded: rowsIn > threshold };
      });
    const sqlHead = s.text.replace(/\s+/g, " ").trim().slice(0, 100);
    results.push({ route: s.route, statement: n, sql: sqlHead, executionMs: plan["Execution Time"], seqScans });
    lines.push("");
    lines.push(`## ${s.route} — statement ${n}: ${plan["Execution Time"].toFixed(2)} ms (planning ${plan["Planning Time"].toFixed(2)} ms)`);
    lines.push(`   ${sqlHead}${s.text.length > 100 ? "…" : ""}`);
    for (const { node, depth } of walk(plan.Plan)) lines.push(`${"  ".repeat(depth + 1)}-> ${describeNode(node)}`);
    for (const scan of seqScans.filter((x) => x.rows > 0))
      lines.push(
        scan.guarded
          ? `   FAIL: sequential scan of ${scan.relation} (${scan.rows} rows)`
          : `   ok: sequential scan of ${scan.relation} (${scan.rows} rows, under ${threshold})`,
      );
  }
  const violations = results.flatMap((r) => r.seqScans.filter((s) => s.guarded).map((s) => ({ route: r.route, statement: r.statement, ...s })));
  failed = violations.length > 0;
  lines.push("");
  lines.push("statements per route: " + [...perRoute].map(([r, n]) => `${r} ${n}`).join("; "));
  lines.push(
    failed
      ? `FAILED: ${violations.length} sequential scan(s) of large relations: ${violations.map((v) => `${v.relation} in ${v.route} #${v.statement}`).join(", ")}`
      : `ok: ${results.length} statements over ${perRoute.size} routes, no sequential scan of a guarded relation over ${threshold} rows`,
  );
  console.log(
    opts.json ? JSON.stringify({ organization: org, rowCounts: Object.fromEntries(rowCounts), threshold, results, violations }, null, 2) : lines.join("\n"),
  );
} finally {
  if (keyId) await query(`DELETE FROM api_keys WHERE id = $1`, [keyId]).catch(() => {});
  await database.close();
}
process.exit(failed ? 1 : 0);
