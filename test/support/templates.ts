import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS_FOLDER, SQL_FOLDER } from "../../functions/db/migrate";

/**
 * A hash of everything migrate() applies, so templates built from an older schema are never reused. The global
 * setup computes it once and hands it to the test workers, so a file edited mid-run cannot make a test look for a
 * template that was never built.
 */
export function schemaHash(): string {
  if (process.env.TALLY_TEMPLATE_HASH) return process.env.TALLY_TEMPLATE_HASH;
  const hash = createHash("sha256");
  for (const folder of [MIGRATIONS_FOLDER, SQL_FOLDER]) {
    for (const file of readdirSync(folder)
      .filter((f) => f.endsWith(".sql"))
      .sort()) {
      hash.update(file).update(readFileSync(join(folder, file)));
    }
  }
  return hash.digest("hex").slice(0, 12);
}

export const TEMPLATE_DIR = join(process.cwd(), "node_modules", ".cache", "tally-test");
export const pgliteTemplatePath = () => join(TEMPLATE_DIR, `pglite-${schemaHash()}.tar.gz`);
export const postgresTemplateName = () => `tally_template_${schemaHash()}`;

/** The server's maintenance database URL for CREATE/DROP DATABASE. */
export function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = "/postgres";
  return u.toString();
}

export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
