CREATE SEQUENCE "public"."event_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE SEQUENCE "public"."message_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "devices" (
	"id" bigserial PRIMARY KEY,
	"iot_id" text NOT NULL UNIQUE,
	"product_key" text NOT NULL,
	"device_name" text NOT NULL,
	"nickname" text,
	"secret_enc" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"online" boolean DEFAULT false NOT NULL,
	"connection_epoch" bigint DEFAULT 0 NOT NULL,
	"connected_instance" text,
	"client_ip" text,
	"activated_at" timestamp(3) with time zone,
	"last_online_at" timestamp(3) with time zone,
	"last_offline_at" timestamp(3) with time zone,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" bigserial PRIMARY KEY,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"product_keys" text[],
	"token_hash" text NOT NULL UNIQUE,
	"token_prefix" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp(3) with time zone
);
--> statement-breakpoint
CREATE TABLE "events" (
	"position" bigint PRIMARY KEY,
	"type" text NOT NULL,
	"product_key" text,
	"device_name" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "platform_state" (
	"key" text PRIMARY KEY,
	"value" jsonb NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_topics" (
	"id" bigserial PRIMARY KEY,
	"product_key" text NOT NULL,
	"short_name" text NOT NULL,
	"operation" text NOT NULL,
	"description" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" bigserial PRIMARY KEY,
	"product_key" text NOT NULL UNIQUE,
	"name" text NOT NULL,
	"description" text,
	"node_type" text DEFAULT 'DEVICE' NOT NULL,
	"data_format" text DEFAULT 'ALINK_JSON' NOT NULL,
	"validation_mode" text DEFAULT 'WEAK' NOT NULL,
	"tsl" jsonb NOT NULL,
	"product_secret_enc" text NOT NULL,
	"dynamic_registration" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "devices_pk_name_uq" ON "devices" ("product_key","device_name");--> statement-breakpoint
CREATE INDEX "devices_pk_id_idx" ON "devices" ("product_key","id");--> statement-breakpoint
CREATE INDEX "devices_online_idx" ON "devices" ("connected_instance") WHERE "online";--> statement-breakpoint
CREATE INDEX "events_created_brin" ON "events" USING brin ("created_at");--> statement-breakpoint
CREATE INDEX "events_type_pk_pos_idx" ON "events" ("type","product_key","position");--> statement-breakpoint
CREATE UNIQUE INDEX "product_topics_pk_short_uq" ON "product_topics" ("product_key","short_name");--> statement-breakpoint
CREATE INDEX "product_topics_pk_idx" ON "product_topics" ("product_key");--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_product_key_products_product_key_fkey" FOREIGN KEY ("product_key") REFERENCES "products"("product_key");--> statement-breakpoint
ALTER TABLE "product_topics" ADD CONSTRAINT "product_topics_product_key_products_product_key_fkey" FOREIGN KEY ("product_key") REFERENCES "products"("product_key") ON DELETE CASCADE;