import postgres from "postgres";
const f = JSON.parse(await (await import("node:fs")).promises.readFile(process.argv[2], "utf8"));
const s = f.statements.find((x) => x.route === process.argv[3]);
const sql = postgres("postgres://postgres@127.0.0.1:5432/tally_1m", { max: 1, prepare: true });
await sql`SET jit = off`;
const times = [];
for (let i = 0; i < 14; i++) { const t0 = performance.now(); await sql.unsafe(s.text, s.params, { prepare: true }); times.push((performance.now() - t0).toFixed(1)); }
console.log(process.argv[3], "prepared:", times.join(" "));
const u = [];
for (let i = 0; i < 6; i++) { const t0 = performance.now(); await sql.unsafe(s.text, s.params, { prepare: false }); u.push((performance.now() - t0).toFixed(1)); }
console.log(process.argv[3], "unnamed:", u.join(" "));
await sql.end();
