DROP INDEX "voucher_orders_voucher_idx";--> statement-breakpoint
CREATE INDEX "voucher_orders_voucher_id_idx" ON "voucher_orders" USING btree ("voucher_id","id");--> statement-breakpoint
CREATE INDEX "voucher_orders_unpaid_idx" ON "voucher_orders" USING btree ("created_at") WHERE "voucher_orders"."status" = 'unpaid';