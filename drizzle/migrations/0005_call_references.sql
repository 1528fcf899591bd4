-- References to a call (issue #18 item 6, the part 0004 left): calls is partitioned by started_at, so its unique keys
-- must hold started_at and a reference to a call must name it by (org_id, id, started_at). The analysis rows
-- (call_milestones, call_objections) and appointments gain call_started_at; call_external_ids already holds it as
-- started_at. Every reference becomes a composite foreign key to calls (org_id, id, started_at):
-- ON UPDATE CASCADE, so a call that moves in time (or, by an operator's hand, to another organization) carries them;
-- ON DELETE CASCADE for the analysis rows and external ids (they are the call's), ON DELETE SET NULL of the call link
-- for appointments (an appointment outlives its call). Retention drops call partitions without DELETE: the job
-- removes and unlinks the referencing rows first (functions/jobs/maintain-partitions.ts).
--
-- A populated database: rows that name a call that is gone (retention used to leave them behind) are removed, or
-- unlinked for appointments; an analysis row filed under another organization than its call's is moved to the
-- call's organization (it describes that call); an appointment linked to another organization's call is unlinked.
ALTER TABLE "call_milestones" ADD COLUMN "call_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "call_objections" ADD COLUMN "call_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "call_started_at" timestamp with time zone;--> statement-breakpoint
UPDATE "call_milestones" m SET "call_started_at" = c."started_at", "org_id" = c."org_id"
  FROM "calls" c WHERE c."id" = m."call_id";--> statement-breakpoint
DELETE FROM "call_milestones" WHERE "call_started_at" IS NULL;--> statement-breakpoint
UPDATE "call_objections" o SET "call_started_at" = c."started_at", "org_id" = c."org_id"
  FROM "calls" c WHERE c."id" = o."call_id";--> statement-breakpoint
DELETE FROM "call_objections" WHERE "call_started_at" IS NULL;--> statement-breakpoint
UPDATE "call_external_ids" x SET "started_at" = c."started_at"
  FROM "calls" c WHERE c."id" = x."call_id" AND c."org_id" = x."org_id" AND c."started_at" <> x."started_at";--> statement-breakpoint
DELETE FROM "call_external_ids" x
 WHERE NOT EXISTS (SELECT 1 FROM "calls" c WHERE c."org_id" = x."org_id" AND c."id" = x."call_id" AND c."started_at" = x."started_at");--> statement-breakpoint
UPDATE "appointments" p SET "call_started_at" = c."started_at"
  FROM "calls" c WHERE c."id" = p."call_id" AND c."org_id" = p."org_id";--> statement-breakpoint
UPDATE "appointments" SET "call_id" = NULL WHERE "call_id" IS NOT NULL AND "call_started_at" IS NULL;--> statement-breakpoint
ALTER TABLE "call_milestones" ALTER COLUMN "call_started_at" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "call_objections" ALTER COLUMN "call_started_at" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_call_key_whole" CHECK (("appointments"."call_id" IS NULL) = ("appointments"."call_started_at" IS NULL));--> statement-breakpoint
ALTER TABLE "call_milestones" ADD CONSTRAINT "call_milestones_org_call_fk" FOREIGN KEY ("org_id", "call_id", "call_started_at")
  REFERENCES "calls" ("org_id", "id", "started_at") ON UPDATE CASCADE ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "call_objections" ADD CONSTRAINT "call_objections_org_call_fk" FOREIGN KEY ("org_id", "call_id", "call_started_at")
  REFERENCES "calls" ("org_id", "id", "started_at") ON UPDATE CASCADE ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "call_external_ids" ADD CONSTRAINT "call_external_ids_org_call_fk" FOREIGN KEY ("org_id", "call_id", "started_at")
  REFERENCES "calls" ("org_id", "id", "started_at") ON UPDATE CASCADE ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_org_call_fk" FOREIGN KEY ("org_id", "call_id", "call_started_at")
  REFERENCES "calls" ("org_id", "id", "started_at") ON UPDATE CASCADE ON DELETE SET NULL ("call_id", "call_started_at");
