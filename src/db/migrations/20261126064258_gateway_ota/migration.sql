CREATE TABLE "desired_properties" (
	"device_id" bigint,
	"identifier" text,
	"value" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "desired_properties_pkey" PRIMARY KEY("device_id","identifier")
);
--> statement-breakpoint
CREATE TABLE "device_tags" (
	"device_id" bigint,
	"attr_key" text,
	"attr_value" text NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "device_tags_pkey" PRIMARY KEY("device_id","attr_key")
);
--> statement-breakpoint
CREATE TABLE "device_topology" (
	"sub_device_id" bigint PRIMARY KEY,
	"gateway_id" bigint NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_versions" (
	"device_id" bigint,
	"module" text,
	"version" text NOT NULL,
	"reported_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "device_versions_pkey" PRIMARY KEY("device_id","module")
);
--> statement-breakpoint
CREATE TABLE "firmwares" (
	"id" bigserial PRIMARY KEY,
	"product_key" text NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"module" text DEFAULT 'default' NOT NULL,
	"size" bigint NOT NULL,
	"md5" text NOT NULL,
	"sha256" text NOT NULL,
	"sign_method" text NOT NULL,
	"url" text,
	"content" bytea,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ota_jobs" (
	"id" bigserial PRIMARY KEY,
	"firmware_id" bigint NOT NULL,
	"product_key" text NOT NULL,
	"src_versions" text[],
	"rollout_rate" integer,
	"status" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ota_tasks" (
	"id" bigserial PRIMARY KEY,
	"job_id" bigint NOT NULL,
	"device_id" bigint NOT NULL,
	"status" text NOT NULL,
	"step" integer,
	"description" text,
	"src_version" text,
	"notified_at" timestamp(3) with time zone,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "device_topology_gateway_idx" ON "device_topology" ("gateway_id");--> statement-breakpoint
CREATE UNIQUE INDEX "firmwares_pk_module_version_uq" ON "firmwares" ("product_key","module","version");--> statement-breakpoint
CREATE UNIQUE INDEX "ota_tasks_job_device_uq" ON "ota_tasks" ("job_id","device_id");--> statement-breakpoint
CREATE INDEX "ota_tasks_device_idx" ON "ota_tasks" ("device_id","status");