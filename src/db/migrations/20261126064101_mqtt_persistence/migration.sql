CREATE TABLE "mqtt_incoming" (
	"client_id" text,
	"message_id" integer,
	"packet" jsonb NOT NULL,
	"payload" bytea,
	"payload_is_string" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mqtt_incoming_pkey" PRIMARY KEY("client_id","message_id")
);
--> statement-breakpoint
CREATE TABLE "mqtt_outgoing" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "mqtt_outgoing_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"client_id" text NOT NULL,
	"broker_id" text,
	"broker_counter" bigint,
	"message_id" integer,
	"packet" jsonb NOT NULL,
	"payload" bytea,
	"payload_is_string" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mqtt_retained" (
	"topic" text PRIMARY KEY,
	"packet" jsonb NOT NULL,
	"payload" bytea,
	"payload_is_string" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mqtt_subscriptions" (
	"client_id" text,
	"topic" text,
	"qos" smallint NOT NULL,
	"rh" smallint,
	"rap" boolean,
	"nl" boolean,
	"subscription_identifier" integer,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "mqtt_subscriptions_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mqtt_subscriptions_pkey" PRIMARY KEY("client_id","topic")
);
--> statement-breakpoint
CREATE TABLE "mqtt_wills" (
	"client_id" text PRIMARY KEY,
	"broker_id" text NOT NULL,
	"packet" jsonb NOT NULL,
	"payload" bytea,
	"payload_is_string" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "mqtt_outgoing_client_idx" ON "mqtt_outgoing" ("client_id","id");--> statement-breakpoint
CREATE INDEX "mqtt_outgoing_client_message_idx" ON "mqtt_outgoing" ("client_id","message_id");--> statement-breakpoint
CREATE INDEX "mqtt_retained_topic_prefix_idx" ON "mqtt_retained" ("topic" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "mqtt_subscriptions_topic_idx" ON "mqtt_subscriptions" ("topic");