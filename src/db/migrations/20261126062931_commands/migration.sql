CREATE TABLE "commands" (
	"message_id" text PRIMARY KEY,
	"kind" text NOT NULL,
	"product_key" text NOT NULL,
	"device_name" text,
	"topic" text NOT NULL,
	"identifier" text,
	"call_type" text,
	"input" jsonb,
	"status" text NOT NULL,
	"code" integer,
	"output" jsonb,
	"reply_payload" text,
	"requested_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"replied_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE INDEX "commands_device_time_idx" ON "commands" ("product_key","device_name","requested_at");--> statement-breakpoint
CREATE INDEX "commands_requested_brin" ON "commands" USING brin ("requested_at");