-- Reading the CRM (SQLite): normalised e-mail and phone for duplicate matching and search,
-- possible duplicates, indexes for syncing by change time, the replay link of a log row, and
-- per-minute traffic rollups. The PostgreSQL twin keeps the same tables, columns and indexes.

-- Normalised e-mail (trimmed, lower-case) and phone (digits only), kept beside the values sent.
alter table pre_leads add column email_norm text;
alter table pre_leads add column phone_norm text;
alter table leads add column email_norm text;
alter table leads add column phone_norm text;
alter table customers add column email_norm text;
alter table customers add column phone_norm text;

update pre_leads set email_norm = nullif(lower(trim(email)), ''),
    phone_norm = nullif(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), '/', ''), '');
update leads set email_norm = nullif(lower(trim(email)), ''),
    phone_norm = nullif(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), '/', ''), '');
update customers set email_norm = nullif(lower(trim(email)), ''),
    phone_norm = nullif(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), '/', ''), '');

create index pre_leads_email_norm on pre_leads (email_norm);
create index pre_leads_phone_norm on pre_leads (phone_norm);
create index leads_email_norm on leads (email_norm);
create index leads_phone_norm on leads (phone_norm);
create index customers_email_norm on customers (email_norm);
create index customers_phone_norm on customers (phone_norm);

-- Sync pages in change order (updated_at, id).
create index pre_leads_updated on pre_leads (updated_at, id);
create index leads_updated on leads (updated_at, id);
create index customers_updated on customers (updated_at, id);

-- A match is stored both ways: (record, other) and (other, record), once per matched value.
create table possible_duplicates (
    entity_type text not null,
    entity_id bigint not null,
    other_type text not null,
    other_id bigint not null,
    matched_on text not null,
    created_at text not null,
    primary key (entity_type, entity_id, other_type, other_id, matched_on)
);
create index possible_duplicates_other on possible_duplicates (other_type, other_id);

-- A replayed request's log row names the row it replays.
alter table webhook_logs add column replay_of bigint;

-- Traffic per minute, folded from the log by a background task: one row per minute, direction,
-- event, source, status and duration bucket (a 1-2-5 log scale of milliseconds).
create table traffic_minutes (
    minute text not null,
    direction text not null,
    event text not null,
    source text not null,
    response_status bigint not null,
    duration_bucket bigint not null,
    requests bigint not null,
    primary key (minute, direction, event, source, response_status, duration_bucket)
);

-- How far the log has been folded into traffic_minutes: rows created before `folded_until`.
create table traffic_rollup_state (
    id bigint primary key,
    folded_until text not null
);
