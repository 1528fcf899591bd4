-- Call counters per (organization, UTC hour): the sums of each hour's call_rollup_15m rows (issue #16 item 1). The
-- primary key covers the counters the reads take, as call_rollup_15m's does (0012_rollup_keys_cover.sql). Existing
-- rows are summed from call_rollup_15m here; sql/012_rollup_refresh.sql keeps the two equal from then on.
CREATE TABLE "call_rollup_hourly" (
	"org_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"calls" integer NOT NULL,
	"completed" integer NOT NULL,
	"duration_completed_sum" bigint NOT NULL,
	"scored" integer NOT NULL,
	"qualified" integer NOT NULL,
	"score_sum" bigint NOT NULL,
	"hot" integer NOT NULL,
	"warm" integer NOT NULL,
	"cold" integer NOT NULL,
	"booked" integer NOT NULL,
	"outcome_appointment_booked" integer NOT NULL,
	"outcome_qualified" integer NOT NULL,
	"outcome_callback_requested" integer NOT NULL,
	"outcome_not_interested" integer NOT NULL,
	"outcome_voicemail" integer NOT NULL,
	"outcome_wrong_number" integer NOT NULL,
	"credits_used" bigint NOT NULL,
	"inbound_queued" integer NOT NULL,
	"inbound_ringing" integer NOT NULL,
	"inbound_in_progress" integer NOT NULL,
	"inbound_completed" integer NOT NULL,
	"inbound_failed" integer NOT NULL,
	"inbound_missed" integer NOT NULL,
	"inbound_abandoned" integer NOT NULL,
	"outbound_queued" integer NOT NULL,
	"outbound_ringing" integer NOT NULL,
	"outbound_in_progress" integer NOT NULL,
	"outbound_completed" integer NOT NULL,
	"outbound_failed" integer NOT NULL,
	"outbound_missed" integer NOT NULL,
	"outbound_abandoned" integer NOT NULL,
	CONSTRAINT "call_rollup_hourly_pkey" PRIMARY KEY("org_id","bucket_start") INCLUDE (
	"calls", "completed", "duration_completed_sum", "scored", "qualified", "score_sum", "hot", "warm", "cold", "booked",
	"outcome_appointment_booked", "outcome_qualified", "outcome_callback_requested", "outcome_not_interested", "outcome_voicemail",
	"outcome_wrong_number", "credits_used")
);
--> statement-breakpoint
ALTER TABLE "call_rollup_hourly" ADD CONSTRAINT "call_rollup_hourly_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
INSERT INTO "call_rollup_hourly" ("org_id", "bucket_start", "calls", "completed", "duration_completed_sum", "scored", "qualified", "score_sum", "hot", "warm", "cold", "booked", "outcome_appointment_booked", "outcome_qualified", "outcome_callback_requested", "outcome_not_interested", "outcome_voicemail", "outcome_wrong_number", "credits_used", "inbound_queued", "inbound_ringing", "inbound_in_progress", "inbound_completed", "inbound_failed", "inbound_missed", "inbound_abandoned", "outbound_queued", "outbound_ringing", "outbound_in_progress", "outbound_completed", "outbound_failed", "outbound_missed", "outbound_abandoned")
SELECT "org_id", date_bin('1 hour', "bucket_start", '1970-01-01 00:00:00+00'), sum("calls"), sum("completed"), sum("duration_completed_sum"), sum("scored"), sum("qualified"), sum("score_sum"), sum("hot"), sum("warm"), sum("cold"), sum("booked"), sum("outcome_appointment_booked"), sum("outcome_qualified"), sum("outcome_callback_requested"), sum("outcome_not_interested"), sum("outcome_voicemail"), sum("outcome_wrong_number"), sum("credits_used"), sum("inbound_queued"), sum("inbound_ringing"), sum("inbound_in_progress"), sum("inbound_completed"), sum("inbound_failed"), sum("inbound_missed"), sum("inbound_abandoned"), sum("outbound_queued"), sum("outbound_ringing"), sum("outbound_in_progress"), sum("outbound_completed"), sum("outbound_failed"), sum("outbound_missed"), sum("outbound_abandoned")
  FROM "call_rollup_15m" GROUP BY 1, 2;
