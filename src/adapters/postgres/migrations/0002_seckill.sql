CREATE TABLE "seckill_vouchers" (
	"voucher_id" bigint PRIMARY KEY NOT NULL,
	"stock" integer NOT NULL,
	"initial_stock" integer NOT NULL,
	"begin_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"per_user_limit" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "seckill_stock" CHECK ("seckill_vouchers"."stock" >= 0 and "seckill_vouchers"."stock" <= "seckill_vouchers"."initial_stock"),
	CONSTRAINT "seckill_window" CHECK ("seckill_vouchers"."end_at" > "seckill_vouchers"."begin_at"),
	CONSTRAINT "seckill_limit" CHECK ("seckill_vouchers"."per_user_limit" >= 1)
);
--> statement-breakpoint
CREATE TABLE "voucher_orders" (
	"id" bigint PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"voucher_id" bigint NOT NULL,
	"seq" integer DEFAULT 1 NOT NULL,
	"status" varchar(10) NOT NULL,
	"fail_reason" text,
	"created_at" timestamp with time zone NOT NULL,
	"paid_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	CONSTRAINT "voucher_orders_status" CHECK ("voucher_orders"."status" in ('unpaid', 'paid', 'cancelled', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "vouchers" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "vouchers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shop_id" bigint NOT NULL,
	"title" varchar(128) NOT NULL,
	"sub_title" varchar(255) DEFAULT '' NOT NULL,
	"rules" text DEFAULT '' NOT NULL,
	"pay_value" integer NOT NULL,
	"actual_value" integer NOT NULL,
	"kind" varchar(8) NOT NULL,
	"status" varchar(4) DEFAULT 'on' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vouchers_kind" CHECK ("vouchers"."kind" in ('normal', 'seckill')),
	CONSTRAINT "vouchers_status" CHECK ("vouchers"."status" in ('on', 'off')),
	CONSTRAINT "vouchers_values" CHECK ("vouchers"."pay_value" >= 0 and "vouchers"."actual_value" >= 0)
);
--> statement-breakpoint
ALTER TABLE "seckill_vouchers" ADD CONSTRAINT "seckill_vouchers_voucher_id_vouchers_id_fk" FOREIGN KEY ("voucher_id") REFERENCES "public"."vouchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voucher_orders" ADD CONSTRAINT "voucher_orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voucher_orders" ADD CONSTRAINT "voucher_orders_voucher_id_vouchers_id_fk" FOREIGN KEY ("voucher_id") REFERENCES "public"."vouchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vouchers" ADD CONSTRAINT "vouchers_shop_id_shops_id_fk" FOREIGN KEY ("shop_id") REFERENCES "public"."shops"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "seckill_vouchers_end_idx" ON "seckill_vouchers" USING btree ("end_at");--> statement-breakpoint
CREATE UNIQUE INDEX "voucher_orders_live_slot" ON "voucher_orders" USING btree ("user_id","voucher_id","seq") WHERE "voucher_orders"."status" <> 'failed';--> statement-breakpoint
CREATE INDEX "voucher_orders_voucher_idx" ON "voucher_orders" USING btree ("voucher_id");--> statement-breakpoint
CREATE INDEX "voucher_orders_user_idx" ON "voucher_orders" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "vouchers_shop_idx" ON "vouchers" USING btree ("shop_id");