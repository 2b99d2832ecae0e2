#!/usr/bin/env bash
# Outgoing webhooks under load, on each engine: how fast a backlog drains, and the latency from a
# change's commit to its delivery's receipt under a steady stream of changes.
#
#   bench/outgoing.sh
#   BENCH_ENGINES=sqlite BENCH_BACKLOG=20000 BENCH_LATENCY_SECONDS=10 bench/outgoing.sh
#
# drain: a fresh database gets one subscription, created disabled, to a cheap local receiver
#   (nginx answering 200, bench/nginx_receiver.sh), and BENCH_BACKLOG outbox events with a pending
#   delivery each, inserted in SQL (a disabled subscription is given no deliveries, so the backlog
#   cannot come through the API); each event has the body of a real `lead.created` (one lead is
#   created through the API first and its event copied) about a record of its own. Enabling the
#   subscription (PATCH) starts the clock; /metrics is read every 0.2 s until every delivery is
#   delivered. Printed: deliveries/s over the whole drain and between 10 % and 90 % of it, the
#   server's CPU time per delivery, and checks (every delivery delivered once, one attempt and one
#   outgoing log row each).
# latency: another fresh database; examples/outgoing_load.rs subscribes a receiver of its own to
#   `lead.created` and sends signed `new_lead` webhooks open loop at BENCH_RATE per second for
#   BENCH_LATENCY_SECONDS after a warm-up; the receiver takes each delivery's arrival time minus
#   the event's `timestamp` (the time of the change, written in its transaction). Printed: p50,
#   p90, p99, p99.9 and max, and how far the sender ever fell behind its schedule.
#
# Other CRM_* variables in the environment reach the server (e.g. CRM_DELIVERY_CONCURRENCY=64).
# See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/nginx_receiver.sh
source "$ROOT/bench/nginx_receiver.sh"
ON_UNCLEAN_STOP=fail
LOAD=$ROOT/target/release/examples/outgoing_load
ENGINES=${BENCH_ENGINES:-sqlite postgres}
BACKLOG=${BENCH_BACKLOG:-100000}
RATE=${BENCH_RATE:-1000}
SECONDS_=${BENCH_LATENCY_SECONDS:-30}
WARMUP=${BENCH_LATENCY_WARMUP:-5}
API=/api/v1/webhooks

make_tmp outgoing

log "crm-webhooks outgoing benchmark — backlog=$BACKLOG rate=$RATE/s for ${SECONDS_}s (+${WARMUP}s warm-up) engines='$ENGINES'"
log "machine: nproc=$(nproc); uptime:$(uptime)"
build_release outgoing_load
[[ -x $BIN && -x $LOAD ]] || die "$BIN or $LOAD is missing"
for tool in curl python3 nginx; do command -v "$tool" >/dev/null || die "$tool is required"; done

start_outgoing_server() { start_server "$1" CRM_DELIVERY_ALLOW_PRIVATE=true NO_COLOR=1; } # database url

fresh_database() { # engine -> DB_URL
  if [[ $1 == sqlite ]]; then
    DB_URL=sqlite://$TMP/outgoing-$RANDOM.db
  else
    local name
    name=crm_outbench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    pg_create "$name"
    DB_URL=$PG/$name
  fi
}

sql() { db_value "$DB_URL" "$1"; } # statement -> the first column of the first row

admin() { # method path [json]
  curl -fsS -X "$1" "$BASE$API$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"}
}

metric() { # name with labels -> value (integer)
  curl -fsS "$BASE/metrics" -H "Authorization: Bearer $TOKEN" |
    awk -v name="$1" '$1 == name { printf "%d", $2; found = 1 } END { if (!found) printf "0" }'
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

now() { date +%s.%N; }

drain() { # engine
  local engine=$1 sub out
  fresh_database "$engine"
  start_outgoing_server "$DB_URL"
  nginx_receiver_start "$TMP/receiver"
  out=$(admin POST /subscriptions "{\"url\":\"$RECEIVER_URL\",\"events\":[\"lead.created\"],\"disabled\":true}")
  sub=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' <<<"$out")
  [[ -n $sub ]] || die "no subscription: $out"
  # One real lead.created event, whose body every backlog event copies
  local lead=$TMP/lead.json
  cp "$ROOT/docs/examples/new_lead.request.json" "$lead"
  curl -fsS -o /dev/null -X POST "$BASE$API/incoming/lead/create" -H 'Content-Type: application/json' \
    -H "X-Webhook-Signature: $("$BIN" sign "$lead" --secret "$SECRET" | sed -n 's/^X-Webhook-Signature: //p')" \
    --data-binary "@$lead"
  local stamp
  stamp=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  log "[$engine] drain: inserting $BACKLOG events and pending deliveries"
  sql "insert into outbox_events (event_id, event_type, entity_type, entity_id, payload, created_at)
    select 'msg_backlog' || i, 'lead.created', 'lead', 1000000 + i,
      (select payload from outbox_events where event_type = 'lead.created' order by id limit 1), '$stamp'
    from (with recursive n(i) as (select 1 union all select i + 1 from n where i < $BACKLOG) select i from n) n" >/dev/null
  sql "insert into webhook_deliveries (subscription_id, event_id, event_type, entity_type, entity_id,
      order_key, status, attempts, next_attempt_at, created_at)
    select $sub, id, event_type, entity_type, entity_id, 'lead:' || entity_id, 'pending', 0, '$stamp', '$stamp'
    from outbox_events where event_id like 'msg_backlog%' order by id" >/dev/null
  [[ $engine == postgres ]] && sql "vacuum analyze" >/dev/null
  local depth
  depth=$(sql "select count(*) from webhook_deliveries where status = 'pending'")
  [[ $depth == "$BACKLOG" ]] || die "[$engine] $depth pending deliveries, expected $BACKLOG"
  sleep 1.5 # the queue depth gauge is refreshed every second
  log "[$engine] drain: queue depth gauge $(metric crm_outgoing_queue_depth) before; enabling the subscription"
  local cpu0 t0 t t10="" t90="" done_n=0 peak_depth=0 d
  cpu0=$(cpu_ticks "$SERVER_PID")
  t0=$(now)
  admin PATCH "/subscriptions/$sub" '{"disabled":false}' >/dev/null
  while ((done_n < BACKLOG)); do
    sleep 0.2
    t=$(now)
    done_n=$(metric 'crm_outgoing_deliveries_total{status="delivered"}')
    d=$(metric crm_outgoing_queue_depth)
    ((d > peak_depth)) && peak_depth=$d
    [[ -z $t10 ]] && ((done_n * 10 >= BACKLOG)) && t10=$t
    [[ -z $t90 ]] && ((done_n * 10 >= BACKLOG * 9)) && t90=$t
    awk -v t="$t" -v t0="$t0" 'BEGIN { exit !(t - t0 > 600) }' && die "[$engine] drain: $done_n of $BACKLOG after 600 s"
  done
  local cpu1 ticks
  cpu1=$(cpu_ticks "$SERVER_PID")
  ticks=$(getconf CLK_TCK)
  local line
  line=$(awk -v n="$BACKLOG" -v t0="$t0" -v t="$t" -v t10="$t10" -v t90="$t90" -v cpu=$((cpu1 - cpu0)) -v hz="$ticks" 'BEGIN {
    printf "%d deliveries in %.2f s: %.0f deliveries/s overall, %.0f/s between 10%% and 90%%; server CPU %.0f us per delivery",
      n, t - t0, n / (t - t0), (t90 > t10 ? 0.8 * n / (t90 - t10) : 0), cpu / hz / n * 1e6 }')
  log "[$engine] drain: $line"
  note "[$engine] drain: $line"
  # Every delivery delivered once: one attempt and one outgoing log row each
  local delivered attempts rows pending
  delivered=$(sql "select count(*) from webhook_deliveries where status = 'delivered'")
  pending=$(sql "select count(*) from webhook_deliveries where status = 'pending'")
  attempts=$(sql "select count(*) from delivery_attempts")
  rows=$(sql "select count(*) from webhook_logs where direction = 'outgoing' and is_successful = $([[ $engine == sqlite ]] && echo 1 || echo true)")
  note "[$engine] drain checks: delivered $delivered, pending $pending, attempts $attempts, successful outgoing log rows $rows"
  [[ $delivered == "$BACKLOG" && $pending == 0 && $attempts == "$BACKLOG" && $rows == "$BACKLOG" ]] ||
    fail "[$engine] drain: delivered $delivered, pending $pending, attempts $attempts, log rows $rows (expected $BACKLOG, 0, $BACKLOG, $BACKLOG)"
  stop_server
  nginx_receiver_stop
}

latency() { # engine
  local engine=$1 out
  fresh_database "$engine"
  start_outgoing_server "$DB_URL"
  log "[$engine] latency: $RATE new_lead/s for ${SECONDS_}s after ${WARMUP}s"
  out=$("$LOAD" "$BASE" "$TOKEN" "$SECRET" "$ROOT/docs/examples/new_lead.request.json" "$RATE" "$SECONDS_" "$WARMUP") ||
    die "outgoing_load failed: $out"
  log "[$engine] $out"
  declare -A L=()
  local kv
  for kv in ${out#LATENCY_RESULT }; do L[${kv%%=*}]=${kv#*=}; done
  note "[$engine] latency at ${L[rate]}/s: commit-to-receipt p50 ${L[p50_ms]} ms, p90 ${L[p90_ms]} ms, p99 ${L[p99_ms]} ms, p99.9 ${L[p999_ms]} ms, max ${L[max_ms]} ms over ${L[measured]} deliveries; creates 2xx ${L[ok]}, non-2xx ${L[non2xx]}, errors ${L[errors]}; received ${L[received]} (repeated ${L[repeated]}); sender at most ${L[behind_max_ms]} ms behind schedule"
  ((L[non2xx] + L[errors] == 0)) || fail "[$engine] latency: ${L[non2xx]} non-2xx and ${L[errors]} failed creates"
  ((L[received] >= L[ok])) || fail "[$engine] latency: ${L[received]} of ${L[ok]} events delivered"
  stop_server
}

for engine in $ENGINES; do
  case $engine in
    sqlite | postgres) ;;
    *) die "unknown engine '$engine' (sqlite, postgres)" ;;
  esac
  log "=== $engine — load:$(load_average)"
  drain "$engine"
  latency "$engine"
done

results_header
report_checks
