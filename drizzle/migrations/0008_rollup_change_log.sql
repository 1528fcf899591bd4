CREATE TABLE "rollup_agent_delta" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "rollup_agent_delta_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"calls" integer NOT NULL,
	"completed" integer NOT NULL,
	"duration_completed_sum" bigint NOT NULL,
	"scored" integer NOT NULL,
	"score_sum" bigint NOT NULL,
	"booked" integer NOT NULL,
	"credits_used" bigint NOT NULL,
	"milestones" integer NOT NULL,
	"milestones_achieved" integer NOT NULL,
	"objections" integer NOT NULL,
	"objections_handled" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "recompute" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "calls" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "completed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "duration_completed_sum" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "scored" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "qualified" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "score_sum" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "hot" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "warm" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "cold" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "booked" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_appointment_booked" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_qualified" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_callback_requested" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_not_interested" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_voicemail" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outcome_wrong_number" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "credits_used" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_queued" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_ringing" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_in_progress" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_completed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_failed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_missed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "inbound_abandoned" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_queued" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_ringing" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_in_progress" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_completed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_failed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_missed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "rollup_dirty" ADD COLUMN "outbound_abandoned" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "rollup_agent_delta_org_bucket_idx" ON "rollup_agent_delta" USING btree ("org_id","bucket_start");