CREATE TABLE "amqp_deliveries" (
	"group_id" text,
	"position" bigint,
	"product_key" text,
	"owner" text,
	"client_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"deadline" timestamp(3) with time zone NOT NULL,
	"settled" boolean DEFAULT false NOT NULL,
	"settled_at" timestamp(3) with time zone,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "amqp_deliveries_pkey" PRIMARY KEY("group_id","position")
);
--> statement-breakpoint
CREATE TABLE "consumer_groups" (
	"group_id" text PRIMARY KEY,
	"id" bigserial UNIQUE,
	"name" text NOT NULL,
	"position" bigint NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscribe_relations" (
	"product_key" text PRIMARY KEY,
	"id" bigserial UNIQUE,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscription_entries" (
	"product_key" text,
	"group_id" text,
	"message_type" text,
	"since_position" bigint NOT NULL,
	CONSTRAINT "subscription_entries_pkey" PRIMARY KEY("product_key","group_id","message_type")
);
--> statement-breakpoint
CREATE INDEX "amqp_deliveries_open_idx" ON "amqp_deliveries" ("group_id","settled","deadline");--> statement-breakpoint
CREATE INDEX "subscription_entries_group_idx" ON "subscription_entries" ("group_id");