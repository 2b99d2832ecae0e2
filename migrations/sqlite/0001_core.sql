-- Core schema (SQLite). Times are RFC 3339 UTC text with microseconds, fixed width, so they
-- sort as text; money is integer cents, never a float. Flags are integers 0/1 here (the Any
-- driver reads no SQLite boolean type) and booleans on PostgreSQL; `db::flag` reads both. The PostgreSQL twin of this file keeps
-- the same tables, columns and indexes so that one body of queries serves both engines.

create table pre_leads (
    id integer primary key autoincrement,
    first_name text,
    last_name text,
    email text,
    phone text,
    company_name text,
    source text not null default 'other',
    source_details text,
    product_interest text,
    requirements text,
    city text,
    state text,
    country text,
    address_line1 text,
    address_line2 text,
    zip_code text,
    notes text,
    lead_status text not null default 'new',
    industry_id bigint,
    region_id bigint,
    office_timings text,
    timezone text,
    is_discarded integer not null default 0,
    discard_reason text,
    discarded_at text,
    converted_lead_id bigint unique,
    converted_at text,
    received_from text,
    raw_payload text,
    created_at text not null,
    updated_at text not null
);

create table leads (
    id integer primary key autoincrement,
    pre_lead_id bigint unique,
    first_name text,
    last_name text,
    email text,
    phone text,
    company_name text,
    designation text,
    company_size text,
    source text not null default 'other',
    source_details text,
    priority text not null default 'medium',
    product_interest text,
    requirements text,
    expected_value_cents bigint,
    city text,
    state text,
    country text,
    address_line1 text,
    address_line2 text,
    zip_code text,
    assigned_to bigint,
    notes text,
    lead_status text not null default 'new',
    industry_id bigint,
    region_id bigint,
    office_timings text,
    timezone text,
    is_discarded integer not null default 0,
    discard_reason text,
    loss_reason text,
    discarded_at text,
    customer_id bigint unique,
    converted_at text,
    received_from text,
    raw_payload text,
    created_at text not null,
    updated_at text not null
);

-- Contacts, memos and status history belong to a pre-lead or a lead: entity_type says which.
create table contacts (
    id integer primary key autoincrement,
    entity_type text not null,
    entity_id bigint not null,
    first_name text,
    last_name text,
    email text,
    phone text,
    designation text,
    department text,
    is_primary integer not null default 0,
    raw_payload text,
    created_at text not null
);
create index contacts_entity on contacts (entity_type, entity_id);

create table memos (
    id integer primary key autoincrement,
    entity_type text not null,
    entity_id bigint not null,
    title text,
    content text,
    memo_type text not null default 'general',
    raw_payload text,
    created_at text not null
);
create index memos_entity on memos (entity_type, entity_id);

create table status_history (
    id integer primary key autoincrement,
    entity_type text not null,
    entity_id bigint not null,
    old_status text,
    new_status text not null,
    remarks text,
    status_date text not null,
    event text not null,
    created_at text not null
);
create index status_history_entity on status_history (entity_type, entity_id, id);

create table activities (
    id integer primary key autoincrement,
    lead_id bigint not null references leads (id),
    activity_type text not null,
    title text,
    description text,
    scheduled_at text,
    completed_at text,
    outcome text,
    raw_payload text,
    created_at text not null
);
create index activities_lead on activities (lead_id);

create table qualified_profiles (
    id integer primary key autoincrement,
    lead_id bigint not null unique references leads (id),
    profile_type text,
    company text,
    industry text,
    best_time_call text,
    timezone text,
    mode text,
    contact_name text,
    designation text,
    phone text,
    email text,
    need_type text,
    current_solution text,
    pain_point text,
    budget_cents bigint,
    decision_timeline text,
    decision_maker text,
    competitor_info text,
    notes text,
    raw_payload text,
    created_at text not null,
    updated_at text not null
);

create table customers (
    id integer primary key autoincrement,
    customer_code text not null unique,
    lead_id bigint unique,
    first_name text,
    last_name text,
    email text,
    phone text,
    company_name text,
    credit_limit_cents bigint,
    payment_terms text,
    notes text,
    total_orders bigint not null default 0,
    total_revenue_cents bigint not null default 0,
    total_paid_cents bigint not null default 0,
    outstanding_amount_cents bigint not null default 0,
    last_order_date text,
    last_payment_date text,
    raw_payload text,
    created_at text not null,
    updated_at text not null
);

-- An external order or payment id counts once per customer: the unique key is the guard.
create table orders (
    id integer primary key autoincrement,
    customer_id bigint not null references customers (id),
    order_id text not null,
    amount_cents bigint not null,
    order_date text not null,
    raw_payload text,
    created_at text not null,
    unique (customer_id, order_id)
);

create table payments (
    id integer primary key autoincrement,
    customer_id bigint not null references customers (id),
    payment_id text not null,
    amount_cents bigint not null,
    payment_date text not null,
    raw_payload text,
    created_at text not null,
    unique (customer_id, payment_id)
);

create table webhook_logs (
    id integer primary key autoincrement,
    direction text not null,
    event text,
    source text,
    method text not null,
    path text not null,
    remote_addr text,
    request_headers text not null,
    request_body text,
    response_status bigint not null,
    response_body text,
    is_successful integer not null,
    error_message text,
    entity_type text,
    entity_id bigint,
    idempotency_key text,
    request_id text,
    duration_ms double precision not null,
    created_at text not null,
    processed_at text not null
);
-- Listing is newest first (id desc); each filter gets an index that ends in id so that a
-- filtered page is an index range scan, not a sort.
create index webhook_logs_direction on webhook_logs (direction, id);
create index webhook_logs_success on webhook_logs (is_successful, id);
create index webhook_logs_event on webhook_logs (event, id);
create index webhook_logs_entity on webhook_logs (entity_type, entity_id, id);
create index webhook_logs_created on webhook_logs (created_at);

-- Idempotency keys (Idempotency-Key, X-Webhook-Id or webhook-id): the primary key makes a key
-- apply once across concurrent requests and instances; rows older than a day are purged.
create table idempotency_keys (
    key text primary key,
    request_hash text not null,
    response_status bigint not null,
    response_body text not null,
    created_at text not null
);
create index idempotency_keys_created on idempotency_keys (created_at);
