CREATE TABLE "consumers" (
	"name" text PRIMARY KEY,
	"position" bigint NOT NULL,
	"owner" text,
	"lease_until" timestamp(3) with time zone,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dead_letters" (
	"id" bigserial PRIMARY KEY,
	"rule_id" bigint NOT NULL,
	"action_index" integer NOT NULL,
	"delivery_key" text NOT NULL,
	"event_position" bigint NOT NULL,
	"topic" text NOT NULL,
	"output" jsonb NOT NULL,
	"error" text NOT NULL,
	"attempts" integer NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"redriven_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE TABLE "rules" (
	"id" bigserial PRIMARY KEY,
	"name" text NOT NULL,
	"description" text,
	"sql" text NOT NULL,
	"status" text DEFAULT 'STOPPED' NOT NULL,
	"actions" jsonb NOT NULL,
	"last_error" text,
	"last_error_at" timestamp(3) with time zone,
	"matched" bigint DEFAULT 0 NOT NULL,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"failed" bigint DEFAULT 0 NOT NULL,
	"dead_lettered" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "topic_routes" (
	"id" bigserial PRIMARY KEY,
	"src_topic" text NOT NULL,
	"dst_topic" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "dead_letters_rule_idx" ON "dead_letters" ("rule_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "topic_routes_src_dst_uq" ON "topic_routes" ("src_topic","dst_topic");