CREATE TABLE "admin_view_state" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"refreshed_at" timestamp with time zone,
	"duration_ms" integer,
	CONSTRAINT "admin_view_state_single_row" CHECK ("admin_view_state"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "agent_rollup_hourly" (
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
	"objections_handled" integer NOT NULL,
	CONSTRAINT "agent_rollup_hourly_pkey" PRIMARY KEY("org_id","bucket_start","agent_id")
);
--> statement-breakpoint
CREATE TABLE "call_rollup_15m" (
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
	CONSTRAINT "call_rollup_15m_pkey" PRIMARY KEY("org_id","bucket_start")
);
--> statement-breakpoint
CREATE TABLE "rollup_dirty" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "rollup_dirty_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollup_state" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"watermark" timestamp with time zone DEFAULT '-infinity' NOT NULL,
	"built_to" timestamp with time zone DEFAULT '-infinity' NOT NULL,
	"advanced_at" timestamp with time zone,
	"refreshed_at" timestamp with time zone,
	CONSTRAINT "rollup_state_single_row" CHECK ("rollup_state"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "agent_rollup_hourly" ADD CONSTRAINT "agent_rollup_hourly_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_rollup_15m" ADD CONSTRAINT "call_rollup_15m_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rollup_dirty_org_bucket_idx" ON "rollup_dirty" USING btree ("org_id","bucket_start");--> statement-breakpoint
CREATE INDEX "calls_started_idx" ON "calls" USING btree ("started_at");