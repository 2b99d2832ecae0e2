-- Retention (SQLite; see src/retention): the purge looks these up for every row it deletes.
-- An outbox event may go once no delivery names it (the foreign key's check needs this index
-- too, or deleting an event would scan every delivery).
create index webhook_deliveries_event on webhook_deliveries (event_id);
-- An outgoing log row stays while a pending delivery's attempt names it.
create index delivery_attempts_log on delivery_attempts (log_id);
