-- Pipeline counts (SQLite), so that GET /api/v1/stats/pipeline does not scan every record: each
-- change to a pre-lead, lead or customer that moves a counted value adds rows to pipeline_deltas
-- (the old values taken away, the new ones added), written by the triggers below in the
-- transaction of the change; a background task moves them into pipeline_counts. The answer is
-- pipeline_counts plus the deltas not yet moved, read in one statement, so it is exact at once.
-- The PostgreSQL twin keeps the same tables; its triggers are one function per table.

-- One row per kind of record and status ('' for customers).
create table pipeline_counts (
    entity_type text not null,
    status text not null,
    records bigint not null,
    discarded bigint not null,
    -- pre-leads: converted to a lead; leads: converted to a customer.
    converted bigint not null,
    -- leads converted to a customer that came from a pre-lead.
    from_pre_lead bigint not null,
    -- leads: expected value of those not discarded; customers: total revenue.
    value_cents bigint not null,
    -- customers: outstanding amount.
    outstanding_cents bigint not null,
    primary key (entity_type, status)
);

create table pipeline_deltas (
    id integer primary key autoincrement,
    entity_type text not null,
    status text not null,
    records bigint not null,
    discarded bigint not null,
    converted bigint not null,
    from_pre_lead bigint not null,
    value_cents bigint not null,
    outstanding_cents bigint not null
);

insert into pipeline_counts
select 'pre_lead', lead_status, count(*), sum(case when is_discarded then 1 else 0 end),
    sum(case when converted_lead_id is not null then 1 else 0 end), 0, 0, 0
from pre_leads group by lead_status;
insert into pipeline_counts
select 'lead', lead_status, count(*), sum(case when is_discarded then 1 else 0 end),
    sum(case when customer_id is not null then 1 else 0 end),
    sum(case when customer_id is not null and pre_lead_id is not null then 1 else 0 end),
    sum(case when is_discarded then 0 else coalesce(expected_value_cents, 0) end), 0
from leads group by lead_status;
insert into pipeline_counts
select 'customer', '', count(*), 0, 0, 0, coalesce(sum(total_revenue_cents), 0), coalesce(sum(outstanding_amount_cents), 0)
from customers having count(*) > 0;

create trigger pre_leads_pipeline_insert after insert on pre_leads begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('pre_lead', new.lead_status, 1, case when new.is_discarded then 1 else 0 end,
        case when new.converted_lead_id is not null then 1 else 0 end, 0, 0, 0);
end;
create trigger pre_leads_pipeline_update after update of lead_status, is_discarded, converted_lead_id on pre_leads
when old.lead_status is not new.lead_status or old.is_discarded is not new.is_discarded
    or old.converted_lead_id is not new.converted_lead_id begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('pre_lead', old.lead_status, -1, case when old.is_discarded then -1 else 0 end,
        case when old.converted_lead_id is not null then -1 else 0 end, 0, 0, 0),
        ('pre_lead', new.lead_status, 1, case when new.is_discarded then 1 else 0 end,
        case when new.converted_lead_id is not null then 1 else 0 end, 0, 0, 0);
end;
create trigger pre_leads_pipeline_delete after delete on pre_leads begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('pre_lead', old.lead_status, -1, case when old.is_discarded then -1 else 0 end,
        case when old.converted_lead_id is not null then -1 else 0 end, 0, 0, 0);
end;

create trigger leads_pipeline_insert after insert on leads begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('lead', new.lead_status, 1, case when new.is_discarded then 1 else 0 end,
        case when new.customer_id is not null then 1 else 0 end,
        case when new.customer_id is not null and new.pre_lead_id is not null then 1 else 0 end,
        case when new.is_discarded then 0 else coalesce(new.expected_value_cents, 0) end, 0);
end;
create trigger leads_pipeline_update
after update of lead_status, is_discarded, customer_id, pre_lead_id, expected_value_cents on leads
when old.lead_status is not new.lead_status or old.is_discarded is not new.is_discarded
    or old.customer_id is not new.customer_id or old.pre_lead_id is not new.pre_lead_id
    or old.expected_value_cents is not new.expected_value_cents begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('lead', old.lead_status, -1, case when old.is_discarded then -1 else 0 end,
        case when old.customer_id is not null then -1 else 0 end,
        case when old.customer_id is not null and old.pre_lead_id is not null then -1 else 0 end,
        case when old.is_discarded then 0 else -coalesce(old.expected_value_cents, 0) end, 0),
        ('lead', new.lead_status, 1, case when new.is_discarded then 1 else 0 end,
        case when new.customer_id is not null then 1 else 0 end,
        case when new.customer_id is not null and new.pre_lead_id is not null then 1 else 0 end,
        case when new.is_discarded then 0 else coalesce(new.expected_value_cents, 0) end, 0);
end;
create trigger leads_pipeline_delete after delete on leads begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('lead', old.lead_status, -1, case when old.is_discarded then -1 else 0 end,
        case when old.customer_id is not null then -1 else 0 end,
        case when old.customer_id is not null and old.pre_lead_id is not null then -1 else 0 end,
        case when old.is_discarded then 0 else -coalesce(old.expected_value_cents, 0) end, 0);
end;

create trigger customers_pipeline_insert after insert on customers begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('customer', '', 1, 0, 0, 0, new.total_revenue_cents, new.outstanding_amount_cents);
end;
create trigger customers_pipeline_update after update of total_revenue_cents, outstanding_amount_cents on customers
when old.total_revenue_cents is not new.total_revenue_cents
    or old.outstanding_amount_cents is not new.outstanding_amount_cents begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('customer', '', 0, 0, 0, 0, new.total_revenue_cents - old.total_revenue_cents,
        new.outstanding_amount_cents - old.outstanding_amount_cents);
end;
create trigger customers_pipeline_delete after delete on customers begin
    insert into pipeline_deltas (entity_type, status, records, discarded, converted, from_pre_lead, value_cents, outstanding_cents)
    values ('customer', '', -1, 0, 0, 0, -old.total_revenue_cents, -old.outstanding_amount_cents);
end;
