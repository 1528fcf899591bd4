CREATE TABLE "coverage_15m" (
	"org_id" uuid NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"agent_microseconds" bigint NOT NULL,
	"covered_microseconds" bigint NOT NULL,
	CONSTRAINT "coverage_15m_pkey" PRIMARY KEY("org_id","bucket_start")
);
--> statement-breakpoint
CREATE TABLE "coverage_dirty" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "coverage_dirty_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"org_id" uuid NOT NULL,
	"dirty_from" timestamp with time zone NOT NULL,
	"dirty_to" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rollup_state" ADD COLUMN "coverage_built_to" timestamp with time zone DEFAULT '-infinity' NOT NULL;--> statement-breakpoint
ALTER TABLE "coverage_15m" ADD CONSTRAINT "coverage_15m_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "coverage_dirty_org_idx" ON "coverage_dirty" USING btree ("org_id","dirty_from");--> statement-breakpoint
CREATE INDEX "agent_sessions_org_ended_idx" ON "agent_sessions" USING btree ("org_id","ended_at");