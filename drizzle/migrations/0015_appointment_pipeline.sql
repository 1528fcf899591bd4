CREATE TABLE "appointment_pipeline_daily" (
	"org_id" uuid NOT NULL,
	"day" timestamp with time zone NOT NULL,
	"service_id" uuid NOT NULL,
	"scheduled" integer NOT NULL,
	CONSTRAINT "appointment_pipeline_daily_pkey" PRIMARY KEY("org_id","day","service_id")
);
