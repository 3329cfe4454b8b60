-- seckill_persist: DrizzleOrderRepository.persist as one statement (one round trip, the sale's
-- stock row locked only between its UPDATE and the COMMIT that follows at once on the server).
-- Same steps, in the same order, as the transaction it replaces (BEGIN; INSERT … ON CONFLICT DO
-- NOTHING RETURNING; [SELECT the existing order]; UPDATE … stock > 0; COMMIT), so the same outcomes
-- and the same locks under READ COMMITTED (each statement of a volatile function gets a new snapshot):
--   * the INSERT waits for a concurrent insert of the same id or live slot to commit or roll back;
--   * id taken → 'exists' + that order; live (user, voucher, seq) slot taken → 'duplicate';
--   * inserted but no stock left (or no sale) → the row is deleted again in the same transaction
--     (nothing inserted, stock unchanged: 'sold-out'), where the old code rolled back;
--   * else 'created' + the new order, stock − 1 (the stock > 0 guard is re-checked on the newest
--     row version after waiting for its lock, so it never oversells).
-- The OUT columns are voucher_orders' columns under their own names (the repository maps them
-- with the table's columns): a new column of voucher_orders needs this function replaced too.
CREATE FUNCTION "seckill_persist"(
	"p_id" bigint,
	"p_user_id" bigint,
	"p_voucher_id" bigint,
	"p_seq" integer,
	"p_created_at" timestamp with time zone,
	OUT "result" text,
	OUT "id" bigint,
	OUT "user_id" bigint,
	OUT "voucher_id" bigint,
	OUT "seq" integer,
	OUT "status" varchar(10),
	OUT "fail_reason" text,
	OUT "created_at" timestamp with time zone,
	OUT "paid_at" timestamp with time zone,
	OUT "cancelled_at" timestamp with time zone
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
	o "voucher_orders"%ROWTYPE;
BEGIN
	INSERT INTO "voucher_orders" AS t ("id", "user_id", "voucher_id", "seq", "status", "created_at")
	VALUES (p_id, p_user_id, p_voucher_id, p_seq, 'unpaid', p_created_at)
	ON CONFLICT DO NOTHING
	RETURNING t.* INTO o;
	IF FOUND THEN
		UPDATE "seckill_vouchers" AS s SET "stock" = s."stock" - 1
		WHERE s."voucher_id" = p_voucher_id AND s."stock" > 0;
		IF NOT FOUND THEN
			DELETE FROM "voucher_orders" AS t WHERE t."id" = p_id;
			result := 'sold-out';
			RETURN;
		END IF;
		result := 'created';
	ELSE
		SELECT t.* INTO o FROM "voucher_orders" AS t WHERE t."id" = p_id;
		IF NOT FOUND THEN
			result := 'duplicate';
			RETURN;
		END IF;
		result := 'exists';
	END IF;
	id := o.id;
	user_id := o.user_id;
	voucher_id := o.voucher_id;
	seq := o.seq;
	status := o.status;
	fail_reason := o.fail_reason;
	created_at := o.created_at;
	paid_at := o.paid_at;
	cancelled_at := o.cancelled_at;
END
$$;
