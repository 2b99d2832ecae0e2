#!/usr/bin/env bash
# The delivery claim's PostgreSQL plan behind a backlog that waits, on tables never analyzed.
#
#   bench/claim_plan.sh
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432 bench/claim_plan.sh
#
# A fresh database is migrated (migrations/postgres, autovacuum off on the outgoing tables so that
# nothing analyzes them) and loaded with 75 subscriptions (60 disabled, 10 failing, 5 healthy) and
# 700 events about 35 records fanned out to each: 49,100 pending deliveries, most of them to a
# disabled subscription or held behind the first delivery of their record, which waits for its
# retry. The claim's two statements, as src/outgoing/lease.rs writes them (the walk `DUE` with
# `FOR UPDATE SKIP LOCKED`, and the lease by id, in a transaction that first runs `PLAN_BY_INDEX`),
# are prepared and run under EXPLAIN ANALYZE in two cases:
#   empty:  prepared and run six times while the tables are empty (PostgreSQL then keeps a generic
#           plan made for empty tables), the backlog loaded afterwards in the same session;
#   loaded: prepared once the backlog is there.
# Then once more with every subscription enabled (the first due deliveries at the front of the
# index). Each case prints its plan; the database (created and dropped through BENCH_PG_ADMIN_DB,
# default test) is dropped at the end. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
DB=claimplan_$$
PG_DBS+=("$DB")
NOW="'2026-12-01T08:00:00.000000Z'"
UNTIL="'2026-12-01T09:00:00.000000Z'"

psql_db() { psql "$PG/$DB" -X -q -v ON_ERROR_STOP=1 "$@"; }

BACKLOG="
insert into webhook_subscriptions (id, url, secret, disabled, failing_since, created_at, updated_at)
select g, 'https://receiver.example/' || g, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', g > 15,
       case when g between 6 and 15 then '2026-11-30T00:00:00.000000Z' end,
       '2026-11-30T00:00:00.000000Z', '2026-11-30T00:00:00.000000Z'
from generate_series(1, 75) g;
insert into outbox_events (id, event_id, event_type, entity_type, entity_id, payload, created_at)
select g, 'msg_' || g, 'lead.updated', 'lead', g % 35 + 1, '{\"type\":\"lead.updated\"}',
       to_char(timestamp '2026-11-30 00:00:00' + g * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
from generate_series(1, 700) g;
-- Disabled subscriptions keep what was queued for them; a failing one's first delivery per record
-- waits an hour for its retry with the rest held behind it; a healthy one delivered all but the
-- last 20 events.
insert into webhook_deliveries (subscription_id, event_id, event_type, entity_type, entity_id, order_key,
                                status, attempts, next_attempt_at, created_at)
select s, e.id, e.event_type, e.entity_type, e.entity_id, 'lead:' || e.entity_id,
       case when s <= 5 and e.id <= 680 then 'delivered' else 'pending' end,
       case when s between 6 and 15 and e.id <= 35 then 3 else 0 end,
       case when s between 6 and 15 and e.id <= 35 then '2099-01-01T00:00:00.000000Z' else e.created_at end,
       e.created_at
from outbox_events e cross join generate_series(1, 75) s order by e.id, s;
"

PREPARE="
prepare claim(text, boolean, bigint) as
 select d.id from webhook_deliveries d
 where d.status = 'pending' and d.next_attempt_at <= \$1 and (d.locked_until is null or d.locked_until < \$1)
 and case when (select s.disabled from webhook_subscriptions s where s.id = d.subscription_id) = \$2
 then d.order_key is null or d.id = (select p.id from webhook_deliveries p where p.status = 'pending'
 and p.subscription_id = d.subscription_id and p.order_key = d.order_key order by p.id limit 1)
 else false end
 order by d.next_attempt_at, d.id limit \$3 for update skip locked;
prepare lease(text, text, bigint, bigint, bigint, bigint) as
 update webhook_deliveries set locked_until = \$1, lock_token = \$2 where id in (\$3, \$4, \$5, \$6);
"
PLAN_BY_INDEX="select set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true),
 set_config('enable_seqscan', 'off', true) \\g /dev/null"
RUN="begin; $PLAN_BY_INDEX
execute claim($NOW, false, 16); execute lease($UNTIL, 'token', 1, 2, 3, 4);
rollback;"
EXPLAIN="begin; $PLAN_BY_INDEX
explain (analyze, costs off) execute claim($NOW, false, 16);
explain (analyze, costs off) execute lease($UNTIL, 'token', 51001, 51002, 51003, 51004);
rollback;"

fresh() {
    pg_admin -c "drop database if exists $DB with (force)"
    pg_admin -c "create database $DB"
    for file in "$ROOT"/migrations/postgres/*.sql; do psql_db -f "$file" >/dev/null; done
    psql_db -c "alter table webhook_deliveries set (autovacuum_enabled = false);
                alter table webhook_subscriptions set (autovacuum_enabled = false);
                alter table outbox_events set (autovacuum_enabled = false);"
}

echo "== load: $(uptime)"
echo "== empty: planned on empty tables, then the backlog"
fresh
psql_db <<SQL
$PREPARE
\o /dev/null
$RUN
$RUN
$RUN
$RUN
$RUN
$RUN
$BACKLOG
\o
select status, count(*) from webhook_deliveries group by status order by status;
$EXPLAIN
SQL

echo "== loaded: planned with the backlog there"
fresh
psql_db -c "$BACKLOG" >/dev/null
psql_db <<SQL
$PREPARE
$EXPLAIN
SQL

echo "== loaded, every subscription enabled: the first due deliveries at the front"
psql_db <<SQL
update webhook_subscriptions set disabled = false;
$PREPARE
$EXPLAIN
SQL
