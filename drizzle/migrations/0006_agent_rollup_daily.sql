CREATE TABLE "agent_rollup_daily" (
	"org_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"day_start" timestamp with time zone NOT NULL,
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
	CONSTRAINT "agent_rollup_daily_pkey" PRIMARY KEY("org_id","day_start","agent_id")
);
--> statement-breakpoint
ALTER TABLE "agent_rollup_daily" ADD CONSTRAINT "agent_rollup_daily_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
-- the days of the hourly rows already built (a database whose rollups predate this table); the refresh keeps them
INSERT INTO "agent_rollup_daily" ("org_id", "agent_id", "day_start", "calls", "completed", "duration_completed_sum", "scored", "score_sum", "booked", "credits_used", "milestones", "milestones_achieved", "objections", "objections_handled")
SELECT "org_id", "agent_id", date_bin('1 day', "bucket_start", '1970-01-01 00:00:00+00'), sum("calls"), sum("completed"), sum("duration_completed_sum"), sum("scored"), sum("score_sum"), sum("booked"), sum("credits_used"), sum("milestones"), sum("milestones_achieved"), sum("objections"), sum("objections_handled")
  FROM "agent_rollup_hourly"
 GROUP BY 1, 2, 3;
