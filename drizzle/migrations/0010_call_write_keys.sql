-- A new call's write checked one contact twice and its organization twice, and its external id's reference to the
-- partitioned calls table row by row (issue #15 items 2–3: half of a 1,000-call insert; BENCHMARKS.md). Every guarantee
-- stays; what carries each changes:
-- * calls → contacts: the composite (org_id, contact_id) key of 0004 carries the ON DELETE CASCADE the single-column
--   key did, and that one goes. The composite key implies the contact (and that it is the call's organization's).
-- * calls → organizations: implied by the composite contact key (the contact's organization is the call's, and a
--   contact's row references its organization, ON DELETE CASCADE: deleting an organization deletes its contacts and
--   so its calls), so the single-column key goes.
-- * call_external_ids → calls (0005's composite key by (org_id, call_id, started_at)): replaced by statement-level
--   triggers of sql/002_call_external_id_keys.sql, which check all the rows a statement wrote in one join (locking
--   each named call FOR KEY SHARE, as the foreign key did) and carry its ON UPDATE / ON DELETE CASCADE.
ALTER TABLE "calls" DROP CONSTRAINT "calls_org_id_organizations_id_fk";
--> statement-breakpoint
ALTER TABLE "calls" DROP CONSTRAINT "calls_contact_id_contacts_id_fk";
--> statement-breakpoint
ALTER TABLE "calls" DROP CONSTRAINT "calls_org_contact_fk";
--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_org_contact_fk" FOREIGN KEY ("org_id", "contact_id") REFERENCES "contacts" ("org_id", "id") ON DELETE CASCADE;
--> statement-breakpoint
ALTER TABLE "call_external_ids" DROP CONSTRAINT "call_external_ids_org_call_fk";
