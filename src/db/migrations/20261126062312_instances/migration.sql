CREATE TABLE "instances" (
	"id" text PRIMARY KEY,
	"started_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp(3) with time zone
);
