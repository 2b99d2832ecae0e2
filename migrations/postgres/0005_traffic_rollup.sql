-- Traffic rollups (PostgreSQL): the fold of the webhook log into traffic_minutes keeps its place as a
-- log id, not a time (a row's created_at is taken when its request starts, an outgoing attempt's
-- before a call of up to the delivery timeout, so a time mark would skip rows that commit late).
-- Ids missing below that place when it moved (a row not committed yet, or never) are kept in
-- traffic_rollup_gaps and looked for again at every fold, so a row that commits late with a
-- lower id is still counted. The SQLite twin keeps the same tables and indexes.

-- The time-based state of 0004 was never written: it is replaced.
drop table traffic_rollup_state;

-- One row (id = 1): every log row with id <= folded_id is folded, or inside a gap below.
create table traffic_rollup_state (
    id bigint primary key,
    folded_id bigint not null,
    updated_at text not null
);
insert into traffic_rollup_state (id, folded_id, updated_at) values (1, 0, '1970-01-01T00:00:00.000000Z');

-- Ids first_id..last_id were missing when the fold passed them, at seen_at.
create table traffic_rollup_gaps (
    first_id bigint primary key,
    last_id bigint not null,
    seen_at text not null
);

-- Deliveries by status over a time range (GET /api/v1/stats/traffic).
create index webhook_deliveries_created on webhook_deliveries (created_at, status);
