CREATE TABLE "device_shadows" (
	"device_id" bigint PRIMARY KEY,
	"version" bigint DEFAULT 0 NOT NULL,
	"reported" jsonb DEFAULT '{}' NOT NULL,
	"desired" jsonb DEFAULT '{}' NOT NULL,
	"metadata" jsonb DEFAULT '{"reported":{},"desired":{}}' NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "device_shadows" ADD CONSTRAINT "device_shadows_device_id_devices_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE;