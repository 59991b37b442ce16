CREATE TABLE "access_keys" (
	"id" bigserial PRIMARY KEY,
	"access_key_id" text NOT NULL UNIQUE,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"product_keys" text[],
	"secret_enc" text NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp(3) with time zone,
	"last_used_at" timestamp(3) with time zone
);
