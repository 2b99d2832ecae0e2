-- Bulk-insert :rows realistic rows into webhook_logs (bench/run.sh):
--   psql -v rows=N -f bench/seed_logs_postgres.sql
-- Same shape as seed_logs_sqlite.py: ~90% incoming, 18 events, ~4% failures (401s carry no
-- event or entity), entities over 5000 ids per type, created_at increasing with id over the last
-- 30 days as fixed-width RFC 3339 text. Then VACUUM ANALYZE, as autovacuum would do soon after.
\set ON_ERROR_STOP on
\timing on
select setseed(0.42);
with params as (
    select now() - interval '1 minute' as finish, interval '30 days' as span, :rows::bigint as n
), gen as (
    select g,
           p.finish - p.span + p.span * (g::float8 / greatest(p.n, 1)) as created,
           (array['new_inquiry','pre_lead_update','pre_lead_discard','pre_lead_contact_add','pre_lead_memo_add',
                  'pre_lead_status_update','pre_lead_convert','new_lead','lead_update','lead_discard',
                  'lead_contact_add','lead_activity_add','lead_qualified_profile_update','lead_memo_add',
                  'lead_status_update','lead_convert','order_created','payment_received'])[1 + floor(random() * 18)::int] as ev,
           random() >= 0.04 as ok,
           (array[400, 401, 404, 409, 422, 500])[1 + floor(random() * 6)::int] as bad_status,
           1 + floor(random() * 5000)::bigint as eid,
           random() < 0.1 as outgoing,
           random() < 0.3 as with_key,
           round((0.3 + random() * 24.7)::numeric, 3)::float8 as dur
    from generate_series(1, (select n from params)) g, params p
), shaped as (
    select g, created, ok, dur, outgoing, with_key,
           case when ok then 200 else bad_status end as status,
           case when not ok and bad_status = 401 then null else ev end as event,
           case when not ok and bad_status = 401 then null
                when ev like 'pre_lead%' or ev = 'new_inquiry' then 'pre_lead'
                when ev in ('order_created', 'payment_received') then 'customer'
                else 'lead' end as entity_type,
           case when not ok and bad_status = 401 then null else eid end as entity_id,
           ev as body_event, eid as body_eid
    from gen
)
insert into webhook_logs (direction, event, source, method, path, remote_addr, request_headers, request_body,
                          response_status, response_body, is_successful, error_message, entity_type, entity_id,
                          idempotency_key, request_id, duration_ms, created_at, processed_at)
select case when outgoing then 'outgoing' else 'incoming' end,
       event, 'erp', 'POST', '/api/v1/webhooks/incoming', '203.0.113.' || (g % 250 + 1),
       format('{"content-type": "application/json", "user-agent": "erp-connector/2.3", "x-request-id": "req-%s", "x-webhook-signature": "[redacted]"}', to_hex(g)),
       format('{"event": "%s", "source": "erp", "data": {"lead_id": %s, "first_name": "Name%s", "email": "user%s@example.com", "notes": "Imported by the benchmark seeder; row %s of %s."}}',
              body_event, body_eid, g % 997, g % 5003, g, :rows),
       status,
       case when ok then format('{"status": "success", "message": "Done", "data": {"%s_id": %s}}', coalesce(entity_type, 'lead'), body_eid)
            else format('{"detail": "request failed with %s"}', status) end,
       ok,
       case when ok then null else 'request failed with ' || status end,
       entity_type, entity_id,
       case when with_key then 'idem-' || g else null end,
       'req-' || to_hex(g),
       dur,
       to_char(created at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char((created + dur * interval '1 millisecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
from shaped
order by g;
vacuum analyze webhook_logs;
select count(*) as webhook_logs_rows from webhook_logs;
