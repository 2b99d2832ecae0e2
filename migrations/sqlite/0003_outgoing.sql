-- Outgoing webhooks (SQLite). Subscriptions of other systems, the outbox of events written in
-- the same transaction as the change they describe, one delivery per event and subscription, and
-- every attempt of a delivery. Times are fixed-width RFC 3339 UTC text, as everywhere else.

create table webhook_subscriptions (
    id integer primary key autoincrement,
    url text not null,
    -- JSON array of outgoing event types; NULL means every type.
    events text,
    description text,
    secret text not null,
    -- The secret before the last rotation keeps signing until this time.
    previous_secret text,
    previous_secret_expires_at text,
    disabled integer not null default 0,
    disabled_reason text,
    -- Set at the first failure after a success; cleared by a success.
    failing_since text,
    created_at text not null,
    updated_at text not null
);

create table outbox_events (
    id integer primary key autoincrement,
    -- `webhook-id`: the same on every attempt and for every subscription.
    event_id text not null unique,
    event_type text not null,
    entity_type text,
    entity_id bigint,
    -- The exact body sent: {"type", "timestamp", "data"}.
    payload text not null,
    created_at text not null
);

create table webhook_deliveries (
    id integer primary key autoincrement,
    subscription_id bigint not null,
    event_id bigint not null references outbox_events (id),
    event_type text not null,
    entity_type text,
    entity_id bigint,
    -- `pre_lead:12`, `lead:7`, `customer:3`: deliveries with the same key to the same
    -- subscription go out in id order. NULL (ping) waits for nothing.
    order_key text,
    status text not null,
    attempts bigint not null default 0,
    next_attempt_at text not null,
    -- A claim is a lease: a worker that dies leaves it to expire.
    locked_until text,
    lock_token text,
    last_status_code bigint,
    last_error text,
    created_at text not null,
    delivered_at text
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, id) where status = 'pending';
create index webhook_deliveries_order on webhook_deliveries (subscription_id, order_key, id) where status = 'pending';
create index webhook_deliveries_subscription on webhook_deliveries (subscription_id, id);
create index webhook_deliveries_entity on webhook_deliveries (entity_type, entity_id, id);
create index webhook_deliveries_lock on webhook_deliveries (lock_token);

create table delivery_attempts (
    id integer primary key autoincrement,
    delivery_id bigint not null,
    attempt bigint not null,
    started_at text not null,
    status_code bigint,
    duration_ms double precision not null,
    error text,
    log_id bigint
);
create index delivery_attempts_delivery on delivery_attempts (delivery_id, attempt);
