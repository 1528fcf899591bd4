import { migrate } from "../db/migrate";
import { openConfiguredDatabase } from "./open-database";

const started = performance.now();
const database = await openConfiguredDatabase();
try {
  await migrate(database);
  console.log(`migrated (${database.kind}) in ${Math.round(performance.now() - started)} ms`);
} finally {
  await database.close();
}
