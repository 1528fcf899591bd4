import { parseArgs } from "node:util";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../drizzle/schema/enums";
import { migrate } from "../db/migrate";
import { isTimeZone } from "../lib/schemas";
import { createApiKey, createOrganization, findOrganization } from "../services/organizations";
import { openConfiguredDatabase } from "./open-database";

const USAGE = `usage:
  npm run tally -- org create --name <name> [--timezone <IANA zone>]   creates an organization and prints its first write key
  npm run tally -- key create --org <org id> --scope read|write [--name <name>]   prints a new key for an organization
  npm run tally -- key create --admin [--name <name>]                 prints a new platform-admin key`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const [noun, verb, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: { name: { type: "string" }, timezone: { type: "string" }, org: { type: "string" }, scope: { type: "string" }, admin: { type: "boolean" } },
  strict: true,
});

if (verb !== "create" || (noun !== "org" && noun !== "key")) fail("unknown command");
const database = await openConfiguredDatabase();
try {
  await migrate(database);
  if (noun === "org") {
    if (!values.name) fail("--name is required");
    const timezone = values.timezone ?? "UTC";
    if (!isTimeZone(timezone)) fail(`--timezone: ${timezone} is not an IANA time zone`);
    const { organization, apiKey } = await createOrganization(database.db, { name: values.name, timezone });
    console.log(JSON.stringify({ organization: { id: organization.id, name: organization.name, timezone }, apiKey }, null, 2));
  } else if (values.admin) {
    const key = await createApiKey(database.db, { orgId: null, scope: "admin", name: values.name ?? "admin key" });
    console.log(JSON.stringify({ apiKey: key.apiKey, scope: "admin" }, null, 2));
  } else {
    if (!values.org) fail("--org or --admin is required");
    const scope = values.scope as ApiKeyScope | undefined;
    if (!scope || !API_KEY_SCOPES.includes(scope) || scope === "admin") fail("--scope must be read or write");
    if (!(await findOrganization(database.db, values.org))) fail(`no organization ${values.org}`);
    const key = await createApiKey(database.db, { orgId: values.org, scope, name: values.name ?? `${scope} key` });
    console.log(JSON.stringify({ apiKey: key.apiKey, scope }, null, 2));
  }
} finally {
  await database.close();
}
