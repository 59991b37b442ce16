CREATE TABLE "event_history" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "event_history_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"device_id" bigint NOT NULL,
	"identifier" text NOT NULL,
	"name" text NOT NULL,
	"event_type" text NOT NULL,
	"output" jsonb NOT NULL,
	"ts" timestamp(3) with time zone NOT NULL,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingest_dedupe" (
	"device_id" bigint,
	"request_key" text,
	"hash" text NOT NULL,
	"seen_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ingest_dedupe_pkey" PRIMARY KEY("device_id","request_key")
);
--> statement-breakpoint
CREATE TABLE "property_history" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "property_history_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"device_id" bigint NOT NULL,
	"identifier" text NOT NULL,
	"ts" timestamp(3) with time zone NOT NULL,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"value" jsonb NOT NULL,
	"num" double precision
);
--> statement-breakpoint
CREATE TABLE "property_latest" (
	"device_id" bigint,
	"identifier" text,
	"ts" timestamp(3) with time zone NOT NULL,
	"value" jsonb NOT NULL,
	CONSTRAINT "property_latest_pkey" PRIMARY KEY("device_id","identifier")
);
--> statement-breakpoint
CREATE INDEX "event_history_dev_ts_idx" ON "event_history" ("device_id","ts","id");--> statement-breakpoint
CREATE INDEX "event_history_received_brin" ON "event_history" USING brin ("received_at");--> statement-breakpoint
CREATE INDEX "ingest_dedupe_seen_brin" ON "ingest_dedupe" USING brin ("seen_at");--> statement-breakpoint
CREATE INDEX "property_history_dev_id_ts_idx" ON "property_history" ("device_id","identifier","ts","id");--> statement-breakpoint
CREATE INDEX "property_history_received_brin" ON "property_history" USING brin ("received_at");