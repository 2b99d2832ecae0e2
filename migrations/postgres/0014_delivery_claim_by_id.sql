-- A claim now reads the deliveries it leased back by id, in its own transaction, and an attempt
-- is recorded by the delivery's id with its lease token checked on that row: nothing looks a
-- delivery up by its lease token any more, so its index only slowed every claim and record.
drop index if exists webhook_deliveries_lock;
