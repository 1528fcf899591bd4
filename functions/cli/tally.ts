import { parseArgs } from "node:util";
import { API_KEY_SCOPES, type ApiKeyScope } from "../../drizzle/schema/enums";
import type { Cache } from "../cache/cache";
import { memoryCache } from "../cache/memory";
import { createNodeCache } from "../cache/node";
import { migrate } from "../db/migrate";
import { systemClock } from "../lib/clock";
import { jsonLogger } from "../lib/logger";
import { isTimeZone, uuid } from "../lib/schemas";
import { API_KEY_FRESH_SEC, revokeApiKey } from "../services/api-key-lookup";
import { createApiKey, createOrganization, findOrganization } from "../services/organizations";
import { openConfiguredDatabase } from "./open-database";

const USAGE = `usage:
  npm run tally -- org create --name <name> [--timezone <IANA zone>]   creates an organization and prints its first write key
  npm run tally -- key create --org <org id> --scope read|write [--name <name>]   prints a new key for an organization
  npm run tally -- key create --admin [--name <name>]                 prints a new platform-admin key
  npm run tally -- key revoke --key-id <key id>                       revokes a key (any organization's, or an admin key)

Revoking drops the key's cached grant from the shared cache the servers use (REDIS_URL, else UPSTASH_REDIS_REST_URL
and UPSTASH_REDIS_REST_TOKEN), so the next request with it answers 401. Without either, a server that keeps its cache
in process accepts the key for at most ${API_KEY_FRESH_SEC} s more.`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const [noun, verb, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    name: { type: "string" },
    timezone: { type: "string" },
    org: { type: "string" },
    scope: { type: "string" },
    admin: { type: "boolean" },
    "key-id": { type: "string" },
  },
  strict: true,
});

const known = (noun === "org" && verb === "create") || (noun === "key" && (verb === "create" || verb === "revoke"));
if (!known) fail("unknown command");
if (verb === "revoke" && !uuid.safeParse(values["key-id"]).success) fail("--key-id must be a key's id (a UUID)");

/** The shared cache the servers read, from the same variables the entries read; null when they keep theirs in process. */
function sharedCache(): { cache: Cache; store: string } | null {
  const logger = jsonLogger({ level: "warn" });
  const { REDIS_URL, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN } = process.env;
  if (REDIS_URL) return { cache: createNodeCache({ store: "redis", url: REDIS_URL, clock: systemClock, logger }), store: "redis" };
  if (UPSTASH_REDIS_REST_URL && UPSTASH_REDIS_REST_TOKEN)
    return {
      cache: createNodeCache({ store: "upstash", url: UPSTASH_REDIS_REST_URL, token: UPSTASH_REDIS_REST_TOKEN, clock: systemClock, logger }),
      store: "upstash",
    };
  return null;
}

const database = await openConfiguredDatabase();
try {
  await migrate(database);
  if (noun === "org") {
    if (!values.name) fail("--name is required");
    const timezone = values.timezone ?? "UTC";
    if (!isTimeZone(timezone)) fail(`--timezone: ${timezone} is not an IANA time zone`);
    const { organization, apiKey } = await createOrganization(database.db, { name: values.name, timezone });
    console.log(JSON.stringify({ organization: { id: organization.id, name: organization.name, timezone }, apiKey }, null, 2));
  } else if (verb === "revoke") {
    const shared = sharedCache();
    const cache = shared?.cache ?? memoryCache(systemClock);
    try {
      const revoked = await revokeApiKey({ db: database.db, cache, clock: systemClock }, values["key-id"]!, null);
      if (!revoked) fail(`no API key ${values["key-id"]}`);
      const invalidated = shared !== null && (cache.stats().store?.pendingInvalidations ?? 0) === 0;
      const note = invalidated
        ? undefined
        : `${shared ? `the ${shared.store} cache did not answer` : "no shared cache is configured"}: servers may accept this key for up to ${API_KEY_FRESH_SEC} s more`;
      console.log(JSON.stringify({ revoked, cacheInvalidated: invalidated, ...(note ? { note } : {}) }, null, 2));
    } finally {
      await cache.close();
    }
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
