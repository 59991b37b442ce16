CREATE TABLE "property_hourly" (
	"device_id" bigint,
	"identifier" text,
	"hour" timestamp(3) with time zone,
	"cnt" bigint NOT NULL,
	"num_cnt" bigint NOT NULL,
	"sum" double precision,
	"min" double precision,
	"max" double precision,
	"first_ts" timestamp(3) with time zone NOT NULL,
	"first" jsonb NOT NULL,
	"last_ts" timestamp(3) with time zone NOT NULL,
	"last" jsonb NOT NULL,
	CONSTRAINT "property_hourly_pkey" PRIMARY KEY("device_id","identifier","hour")
);
--> statement-breakpoint
-- Backfill from the raw history (services/ingest/sinks.ts REBUILD_HOURLY_SQL).
INSERT INTO "property_hourly" ("device_id", "identifier", "hour", "cnt", "num_cnt", "sum", "min", "max", "first_ts", "first", "last_ts", "last")
SELECT device_id, identifier, date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), count(*), count(num), sum(num), min(num), max(num), min(ts), (array_agg(value ORDER BY ts, id))[1], max(ts), (array_agg(value ORDER BY ts DESC, id DESC))[1] FROM property_history GROUP BY 1, 2, 3;
