-- seckill_persist_many: DrizzleOrderRepository.persistMany — a group of orders (group commit) in
-- one statement and one transaction (an error anywhere rolls every order back), one row per order:
-- its position in the input (n, from 1) and seckill_persist's row for it.
-- Deadlock-free by lock order: seckill_persist inserts the order BEFORE it locks the sale's stock
-- row, so two groups that shared a sale and an order (a redelivery racing a relay republish) could
-- each hold what the other waits for. Here every stock row the group touches is locked first, in
-- voucher order, before any insert: two groups that share a sale serialise on its stock row before
-- either inserts an order of it, and all groups take stock rows in the same order.
CREATE FUNCTION "seckill_persist_many"(
	"p_ids" bigint[],
	"p_user_ids" bigint[],
	"p_voucher_ids" bigint[],
	"p_seqs" integer[],
	"p_created_at" timestamp with time zone[]
) RETURNS TABLE (
	"n" integer,
	"result" text,
	"id" bigint,
	"user_id" bigint,
	"voucher_id" bigint,
	"seq" integer,
	"status" varchar(10),
	"fail_reason" text,
	"created_at" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
	PERFORM 1 FROM "seckill_vouchers" AS s
	WHERE s."voucher_id" = ANY (p_voucher_ids)
	ORDER BY s."voucher_id"
	FOR UPDATE;
	FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
		n := i;
		SELECT * INTO result, id, user_id, voucher_id, seq, status, fail_reason, created_at, paid_at, cancelled_at
		FROM seckill_persist(p_ids[i], p_user_ids[i], p_voucher_ids[i], p_seqs[i], p_created_at[i]);
		RETURN NEXT;
	END LOOP;
END
$$;
