-- call_external_ids → organizations is implied by the external ids' key to their call (sql/002, migration 0010: the
-- call exists in the row's organization, and a call's contact references the organization), and its ON DELETE CASCADE
-- by the chain organization → contacts → calls → external ids (each a cascade). The reference was one more probe per
-- new call (issue #15: 4–8 % of a 1,000-call insert once 0010 had removed the per-row key to calls).
ALTER TABLE "call_external_ids" DROP CONSTRAINT "call_external_ids_org_id_organizations_id_fk";
