-- Composite organization keys (issue #18 item 6): every table that belongs to an organization gets (org_id, id) unique,
-- and every reference between them becomes a composite foreign key (org_id, x_id) -> (org_id, id) as well, so the
-- database itself refuses a link from one organization's row to another's, whatever a write path forgets to check.
-- The single-column foreign keys stay: they carry the ON DELETE actions (SET NULL, CASCADE), which a composite key
-- cannot (SET NULL would null org_id too); the composite keys are NO ACTION, checked after those actions ran.
-- It is also the shape a distribution by org_id needs (docs/scaling.md): every join is on (org_id, id).
--
-- A populated database: write paths have always checked the organization, so no cross-organization link should
-- exist. Any that does is repaired where the column may be empty (the link is dropped: NULL), and the migration
-- stops with a message naming the table where it may not (an agent session of another organization's agent, a call
-- or appointment of another organization's contact): such rows need a person to decide.
UPDATE "agents" a SET "user_id" = NULL
 WHERE a."user_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "users" u WHERE u."id" = a."user_id" AND u."org_id" = a."org_id");
--> statement-breakpoint
UPDATE "inbound_config" i SET "default_agent_id" = NULL
 WHERE i."default_agent_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "agents" a WHERE a."id" = i."default_agent_id" AND a."org_id" = i."org_id");
--> statement-breakpoint
UPDATE "inbound_config" i SET "after_hours_agent_id" = NULL
 WHERE i."after_hours_agent_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "agents" a WHERE a."id" = i."after_hours_agent_id" AND a."org_id" = i."org_id");
--> statement-breakpoint
UPDATE "appointments" p SET "service_id" = NULL
 WHERE p."service_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "services" s WHERE s."id" = p."service_id" AND s."org_id" = p."org_id");
--> statement-breakpoint
UPDATE "calls" c SET "agent_id" = NULL
 WHERE c."agent_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "agents" a WHERE a."id" = c."agent_id" AND a."org_id" = c."org_id");
--> statement-breakpoint
DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM "agent_sessions" s WHERE NOT EXISTS (SELECT 1 FROM "agents" a WHERE a."id" = s."agent_id" AND a."org_id" = s."org_id");
  IF n > 0 THEN RAISE EXCEPTION 'composite org keys: % agent_sessions rows name another organization''s agent; resolve them, then migrate again', n; END IF;
  SELECT count(*) INTO n FROM "appointments" p WHERE NOT EXISTS (SELECT 1 FROM "contacts" c WHERE c."id" = p."contact_id" AND c."org_id" = p."org_id");
  IF n > 0 THEN RAISE EXCEPTION 'composite org keys: % appointments rows name another organization''s contact; resolve them, then migrate again', n; END IF;
  SELECT count(*) INTO n FROM "calls" k WHERE NOT EXISTS (SELECT 1 FROM "contacts" c WHERE c."id" = k."contact_id" AND c."org_id" = k."org_id");
  IF n > 0 THEN RAISE EXCEPTION 'composite org keys: % calls rows name another organization''s contact; resolve them, then migrate again', n; END IF;
END $$;
--> statement-breakpoint
-- (org_id, id) unique on every organization's table with an id. The partitioned tables (calls by started_at,
-- widget_pageviews by created_at) can only hold a unique constraint that includes the partition key, so theirs is
-- (org_id, id, <partition key>): see docs/scaling.md for what that means for references to a call.
ALTER TABLE "users" ADD CONSTRAINT "users_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "invites" ADD CONSTRAINT "invites_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "agent_sessions" ADD CONSTRAINT "agent_sessions_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "call_objections" ADD CONSTRAINT "call_objections_org_id_id_unique" UNIQUE ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_org_id_id_started_at_unique" UNIQUE ("org_id", "id", "started_at");
--> statement-breakpoint
ALTER TABLE "widget_pageviews" ADD CONSTRAINT "widget_pageviews_org_id_id_created_at_unique" UNIQUE ("org_id", "id", "created_at");
--> statement-breakpoint
-- the composite references (MATCH SIMPLE: a NULL x_id is no reference, as before)
ALTER TABLE "agents" ADD CONSTRAINT "agents_org_user_fk" FOREIGN KEY ("org_id", "user_id") REFERENCES "users" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "agent_sessions" ADD CONSTRAINT "agent_sessions_org_agent_fk" FOREIGN KEY ("org_id", "agent_id") REFERENCES "agents" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "inbound_config" ADD CONSTRAINT "inbound_config_org_default_agent_fk" FOREIGN KEY ("org_id", "default_agent_id") REFERENCES "agents" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "inbound_config" ADD CONSTRAINT "inbound_config_org_after_hours_agent_fk" FOREIGN KEY ("org_id", "after_hours_agent_id") REFERENCES "agents" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_org_contact_fk" FOREIGN KEY ("org_id", "contact_id") REFERENCES "contacts" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_org_service_fk" FOREIGN KEY ("org_id", "service_id") REFERENCES "services" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_org_agent_fk" FOREIGN KEY ("org_id", "agent_id") REFERENCES "agents" ("org_id", "id");
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_org_contact_fk" FOREIGN KEY ("org_id", "contact_id") REFERENCES "contacts" ("org_id", "id");
