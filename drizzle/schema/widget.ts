import { index, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { organizations } from "./organizations";

/** Very high volume; range-partitioned by month on created_at (see the first migration). */
export const widgetPageviews = pgTable(
  "widget_pageviews",
  {
    id: uuid("id").notNull().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    poolId: uuid("pool_id"),
    siteId: uuid("site_id"),
    countryCode: text("country_code"),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ name: "widget_pageviews_pkey", columns: [t.id, t.createdAt] }), index("widget_pageviews_org_created_idx").on(t.orgId, t.createdAt)],
);
