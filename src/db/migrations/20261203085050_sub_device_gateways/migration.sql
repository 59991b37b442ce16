CREATE TABLE "product_sub_device_gateways" (
	"product_key" text,
	"gateway_product_key" text,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "product_sub_device_gateways_pkey" PRIMARY KEY("product_key","gateway_product_key")
);
--> statement-breakpoint
ALTER TABLE "product_sub_device_gateways" ADD CONSTRAINT "product_sub_device_gateways_rfrZbwkPTRU2_fkey" FOREIGN KEY ("product_key") REFERENCES "products"("product_key") ON DELETE CASCADE;