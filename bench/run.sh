#!/usr/bin/env bash
# Benchmark harness for crm-webhooks: one command, both engines, one table per engine.
#
#   bench/run.sh
#   BENCH_DURATION=5s BENCH_LOGS_ROWS=200000 BENCH_ENGINES=sqlite bench/run.sh
#
# See bench/README.md for the scenarios, the knobs and how to read the tables.
# Every request goes to 127.0.0.1; every wrk run is bounded by its duration.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
# BIN: BENCH_BIN (another build, e.g. an earlier commit's), else target/release/crm-webhooks
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
# shellcheck source=bench/nginx_receiver.sh
source "$BENCH/nginx_receiver.sh"

# ---------------------------------------------------------------------------------------------
# Knobs
DURATION=${BENCH_DURATION:-15s}             # each measured run (healthz and webhook scenarios)
LOGS_DURATION=${BENCH_LOGS_DURATION:-${BENCH_DURATION:-10s}}  # each measured GET /logs run
WARMUP=${BENCH_WARMUP:-2s}                  # warm-up before every measured run (not reported)
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
LOGS_CONNECTIONS=${BENCH_LOGS_CONNECTIONS:-4}  # GET /logs is an admin page: a few readers at once
WRK_TIMEOUT=${BENCH_TIMEOUT:-10s}           # a response slower than this counts as a wrk timeout
ENGINES=${BENCH_ENGINES:-sqlite postgres}
LOGS_ROWS=${BENCH_LOGS_ROWS:-1000000}       # rows bulk-inserted before the logs scenarios (0: skip)
DEEP_PAGE=${BENCH_LOGS_DEEP_PAGE:-5000}
PG_PORT=${BENCH_PG_PORT:-5432}
PG_USER=${BENCH_PG_USER:-postgres}
PG=postgres://$PG_USER@127.0.0.1:$PG_PORT  # create/drop database run from BENCH_PG_ADMIN_DB (test)
KEEP_TMP=${BENCH_KEEP_TMP:-0}
BODIES_N=${BENCH_BODIES:-100000}            # distinct signed new_lead bodies of each create run
SCENARIOS=${BENCH_SCENARIOS:-all}           # all, or ingest (healthz and the two create runs)
API=/api/v1/webhooks

# ---------------------------------------------------------------------------------------------
# State for cleanup (bench/lib.sh keeps the server, the databases and the checks)
SAMPLER_PID=""
PG_DB=""            # the engine's database, also in PG_DBS while it exists
engine_fail() { fail "[$ENGINE] $*"; }
ON_UNCLEAN_STOP=engine_fail

psql_bench() { psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

stop_sampler() {
  if [[ -n $SAMPLER_PID ]]; then
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
  fi
}

# In place of bench/lib.sh's cleanup: a server still running is stopped without a check, and a
# failed run keeps its logs and wrk outputs.
cleanup() {
  local rc=$?
  set +e
  stop_sampler
  STOP_SECONDS=10 ON_UNCLEAN_STOP=: release_all
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ $KEEP_TMP == 1 ]]; then
      log "kept $TMP"
    else
      find "$TMP" -name 'bench.db*' -delete 2>/dev/null
      rm -rf "$TMP"/*/bodies
      if [[ $rc -ne 0 || $FAILURES -gt 0 ]]; then
        log "kept logs and wrk outputs in $TMP (databases removed)"
      else
        rm -rf "$TMP"
      fi
    fi
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# 1. Machine, build, tools
log "crm-webhooks benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "machine: nproc=$(nproc); uptime:$(uptime)"
log "settings: duration=$DURATION logs_duration=$LOGS_DURATION warmup=$WARMUP threads=$THREADS connections=$CONNECTIONS logs_connections=$LOGS_CONNECTIONS timeout=$WRK_TIMEOUT engines='$ENGINES' scenarios=$SCENARIOS bodies=$BODIES_N logs_rows=$LOGS_ROWS deep_page=$DEEP_PAGE"
if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
  log "source: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src migrations Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes)')"
fi

[[ $SCENARIOS == all || $SCENARIOS == ingest ]] || die "BENCH_SCENARIOS must be all or ingest"
for tool in curl python3 nginx; do command -v "$tool" >/dev/null || die "$tool is required"; done
if [[ " $ENGINES " == *" postgres "* ]]; then command -v psql >/dev/null || die "psql is required for the postgres engine"; fi
for engine in $ENGINES; do [[ $engine == sqlite || $engine == postgres ]] || die "unknown engine '$engine' (sqlite, postgres)"; done

if ! command -v wrk >/dev/null; then
  log "installing wrk"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  if ! $SUDO apt-get install -y wrk >/dev/null 2>&1; then
    $SUDO apt-get update >/dev/null
    $SUDO apt-get install -y wrk >/dev/null
  fi
  command -v wrk >/dev/null || die "wrk could not be installed"
fi

build_release sqlite_alone
[[ -x $BIN ]] || die "$BIN is missing (build it or unset BENCH_SKIP_BUILD)"
ALONE=$ROOT/target/release/examples/sqlite_alone

make_tmp bench
log "work dir: $TMP"

# ---------------------------------------------------------------------------------------------
# Helpers: SQL, signing

sql() { db_value "$DB_URL" "$1"; } # one scalar from the bench database

sign() { # body file -> hex signature (the X-Webhook-Signature line of `crm-webhooks sign`)
  local sig
  sig=$("$BIN" sign "$1" --secret "$SECRET" | sed -n 's/^X-Webhook-Signature: //p')
  [[ -n $sig ]] || die "crm-webhooks sign printed no X-Webhook-Signature for $1"
  printf '%s' "$sig"
}

BODY_SEQ=0
add_request() { # manifest method path json -> appends a signed request to the manifest
  local manifest=$1 method=$2 path=$3 json=$4 file
  BODY_SEQ=$((BODY_SEQ + 1))
  file=$BODIES/$BODY_SEQ.json
  printf '%s' "$json" >"$file"
  printf '%s\t%s\t%s\t%s\n' "$method" "$path" "$(sign "$file")" "$file" >>"$manifest"
}

post_signed() { # path json -> response body on stdout; dies on non-2xx
  local path=$1 json=$2 file out code
  BODY_SEQ=$((BODY_SEQ + 1))
  file=$BODIES/$BODY_SEQ.json
  printf '%s' "$json" >"$file"
  out=$(curl -sS -w '\n%{http_code}' -X POST "$BASE$path" -H 'Content-Type: application/json' \
    -H "X-Webhook-Signature: $(sign "$file")" --data-binary "@$file")
  code=${out##*$'\n'}
  [[ $code == 2* ]] || die "setup request $path answered $code: ${out%$'\n'*}"
  printf '%s' "${out%$'\n'*}"
}

json_id() { # field name, JSON text -> the number
  sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$2"
}

lead_json() { # n -> a new_lead envelope
  local n=$1
  printf '{"event":"new_lead","source":"bench","timestamp":"2026-01-01T00:00:00Z","data":{"first_name":"Bench%s","last_name":"Lead","email":"bench.lead%s@example.com","phone":"+1 555 %s","company_name":"Bench Co %s","designation":"Buyer","source":"website","priority":"medium","product_interest":"CRM seats","requirements":"Load test lead number %s","expected_value":1500.50,"city":"Springfield","country":"US","notes":"created by bench/run.sh"}}' \
    "$n" "$n" "$n" "$n" "$n"
}

inquiry_json() {
  local n=$1
  printf '{"event":"new_inquiry","source":"bench","data":{"first_name":"Inquiry%s","last_name":"Person","email":"bench.inquiry%s@example.com","phone":"+1 555 7%s","company_name":"Inquiring Co %s","source":"website","product_interest":"CRM seats","requirements":"Asked for a demo","city":"Shelbyville","country":"US"}}' \
    "$n" "$n" "$n" "$n"
}

# The receiver of the subscribed run: nginx answering 200 (bench/nginx_receiver.sh).
start_receiver() { nginx_receiver_start "$TMP/receiver"; }

# The create runs' bodies: BODIES_N copies of docs/examples/new_lead.request.json (every field of
# the API document's example), each with its own e-mail and phone, signed (bench/lead_bodies.py).
# The subscribed run sends BODIES_N other people (numbered after the first run's), and the
# warm-ups other people again, so that no measured run pays for matching people sent before it
# as possible duplicates.
LEAD_MANIFEST=""
SUBSCRIBED_MANIFEST=""
LEAD_WARMUP_MANIFEST=""
lead_manifest() {
  [[ -n $LEAD_MANIFEST ]] && return 0
  LEAD_MANIFEST=$TMP/lead.manifest
  SUBSCRIBED_MANIFEST=$TMP/lead_subscribed.manifest
  LEAD_WARMUP_MANIFEST=$TMP/lead_warmup.manifest
  local example=$ROOT/docs/examples/new_lead.request.json path=$API/incoming/lead/create
  python3 "$BENCH/lead_bodies.py" "$example" "$SECRET" "$BODIES_N" "$TMP/lead_bodies" "$path" >"$LEAD_MANIFEST"
  python3 "$BENCH/lead_bodies.py" "$example" "$SECRET" "$BODIES_N" "$TMP/lead_bodies" "$path" \
    "$((BODIES_N + 1))" >"$SUBSCRIBED_MANIFEST"
  python3 "$BENCH/lead_bodies.py" "$example" "$SECRET" 20000 "$TMP/lead_bodies" "$path" \
    "$((2 * BODIES_N + 1))" >"$LEAD_WARMUP_MANIFEST"
  local first_sig first_file
  IFS=$'\t' read -r _ _ first_sig first_file <"$LEAD_MANIFEST"
  [[ $first_sig == "$(sign "$first_file")" ]] || die "lead_bodies.py signs differently from crm-webhooks sign"
  log "signed 2 × $BODIES_N new_lead bodies and 20,000 for the warm-ups ($(wc -c <"$first_file") bytes each)"
}

# ---------------------------------------------------------------------------------------------
# Measuring: sampler, wrk (bench/lib.sh runs it), results

start_sampler() { # out file gets "max_rss_kb max_wal_bytes" when the sampler is stopped
  local out=$1 pid=$SERVER_PID wal=${WAL_FILE:-}
  (
    maxrss=0 maxwal=0
    # Written on stop only: bash runs the trap between commands, so the file is never half-written.
    trap 'echo "$maxrss $maxwal" >"$out"; exit 0' TERM
    while :; do
      if [[ -r /proc/$pid/status ]]; then
        while read -r key value _; do
          if [[ $key == VmRSS: ]]; then
            ((value > maxrss)) && maxrss=$value
            break
          fi
        done <"/proc/$pid/status" 2>/dev/null || true
      fi
      if [[ -n $wal && -e $wal ]]; then
        size=$(stat -c %s "$wal" 2>/dev/null || echo 0)
        ((size > maxwal)) && maxwal=$size
      fi
      sleep 0.1
    done
  ) &
  SAMPLER_PID=$!
}

CEILING_RPS=""
# scenario name duration url manifest [header...]; runs PRE_MEASURE (if set) between warm-up and run;
# the warm-up sends WARMUP_MANIFEST when it is set
scenario() {
  local name=$1 duration=$2 url=$3 manifest=$4
  shift 4
  local dir=$ENGINE_DIR
  log "[$ENGINE] $name: warm-up $WARMUP"
  run_wrk "$dir/$name.warmup.txt" "$WARMUP" "$url" "${WARMUP_MANIFEST:-$manifest}" "$@"
  sleep 0.5
  if [[ -n ${PRE_MEASURE:-} ]]; then "$PRE_MEASURE"; fi
  start_sampler "$dir/$name.sample"
  run_wrk "$dir/$name.txt" "$duration" "$url" "$manifest" "$@"
  if [[ -n ${POST_MEASURE:-} ]]; then "$POST_MEASURE"; fi
  stop_sampler
  parse_result "$dir/$name.txt"
  local rss_kb wal_bytes
  read -r rss_kb wal_bytes <"$dir/$name.sample" || { rss_kb=0; wal_bytes=0; }
  [[ $name == healthz ]] && CEILING_RPS=${R[rps]}
  local errors=$(( R[err_connect] + R[err_read] + R[err_write] + R[err_timeout] ))
  local ratio
  ratio=$(awk -v a="${R[rps]}" -v b="${CEILING_RPS:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }')
  local row
  row=$(awk -v n="$name" -v rps="${R[rps]}" -v p50="${R[p50_us]}" -v p99="${R[p99_us]}" -v bad="${R[non2xx]}" \
    -v err="$errors" -v ratio="$ratio" -v rss="$rss_kb" -v wal="$wal_bytes" -v eng="$ENGINE" 'BEGIN {
      walcol = (eng == "sqlite") ? sprintf("%9.1f", wal / 1048576) : sprintf("%9s", "-")
      printf "%-22s %10.0f %9.2f %9.2f %8d %8d %8s %8.1f %s", n, rps, p50 / 1000, p99 / 1000, bad, err, ratio, rss / 1024, walcol
    }')
  echo "$row" >>"$dir/table.txt"
  if [[ $name == healthz || $name == create_lead* ]]; then
    printf '%s %s %s %s %s %s %s %s\n' "$ENGINE" "$name" "${R[rps]}" "$ratio" "${R[p99_us]}" "$rss_kb" "${R[non2xx]}" "$errors" \
      >>"$TMP/ingest.txt"
  fi
  ((wal_bytes > MAX_WAL)) && MAX_WAL=$wal_bytes
  log "[$ENGINE] $name: ${R[rps]} req/s, p50 $(awk -v v="${R[p50_us]}" 'BEGIN{printf "%.2f", v/1000}') ms, p99 $(awk -v v="${R[p99_us]}" 'BEGIN{printf "%.2f", v/1000}') ms, 2xx ${R[ok]}, non-2xx ${R[non2xx]} (${R[statuses]}), socket errors $errors"
  if [[ ${R[non2xx]} -gt 0 ]]; then
    local sample
    sample=$(grep '^BENCH_SAMPLE ' "$dir/$name.txt" | head -1 | cut -d' ' -f2- || true)
    note "[$ENGINE] $name: ${R[non2xx]} non-2xx (${R[statuses]}); first: $sample"
    log "[$ENGINE] $name: first non-2xx: $sample"
  fi
  if [[ $errors -gt 0 ]]; then
    note "[$ENGINE] $name: wrk socket errors connect=${R[err_connect]} read=${R[err_read]} write=${R[err_write]} timeout=${R[err_timeout]}"
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------
# Accounting: what wrk saw acknowledged vs what the database holds

TRUE_SQL=1
FALSE_SQL=0
count_logs_ok() { sql "select count(*) from webhook_logs where direction = 'incoming' and is_successful = $TRUE_SQL"; }
count_logs_failed() { sql "select count(*) from webhook_logs where direction = 'incoming' and is_successful = $FALSE_SQL"; }

settled() { # waits until the logs count stops moving (writes in flight at wrk's cut-off land)
  local last now i
  last=$(sql "select count(*) from webhook_logs")
  for i in $(seq 1 20); do
    sleep 0.5
    now=$(sql "select count(*) from webhook_logs")
    [[ $now == "$last" ]] && return 0
    last=$now
  done
}

ENTITY_SQL=""
count_outbox() { sql "select count(*) from outbox_events"; }
# shellcheck disable=SC2016  # the single quotes are SQL's, inside a double-quoted string
count_deliveries() { sql "select count(*) from webhook_deliveries${1:+ where status = '$1'}"; }

snapshot_before() {
  settled
  BEFORE_OK=$(count_logs_ok)
  BEFORE_FAILED=$(count_logs_failed)
  BEFORE_ENTITY=$([[ -n $ENTITY_SQL ]] && sql "$ENTITY_SQL" || echo 0)
  BEFORE_OUTBOX=$(count_outbox)
  BEFORE_DELIVERIES=$(count_deliveries)
  BEFORE_DELIVERED=$(count_deliveries delivered)
}

# Right after the measured run of the subscribed scenario: deliveries done while it ran.
delivered_during_run() {
  DELIVERED_IN_RUN=$(( $(count_deliveries delivered) - BEFORE_DELIVERED ))
}

account() { # scenario label entity-label
  local name=$1 entity_label=$2
  settled
  local ok_rows failed_rows entity_rows acked=${R[ok]} bad=${R[non2xx]}
  ok_rows=$(( $(count_logs_ok) - BEFORE_OK ))
  failed_rows=$(( $(count_logs_failed) - BEFORE_FAILED ))
  entity_rows=0
  [[ -n $ENTITY_SQL ]] && entity_rows=$(( $(sql "$ENTITY_SQL") - BEFORE_ENTITY ))
  local line="[$ENGINE] $name accounting: wrk 2xx $acked, successful log rows $ok_rows"
  [[ -n $ENTITY_SQL ]] && line+=", $entity_label $entity_rows"
  line+=", stored but not acknowledged $((ok_rows - acked)) (in flight at wrk's cut-off, at most $CONNECTIONS expected)"
  line+="; wrk non-2xx $bad, failed log rows $failed_rows"
  log "$line"
  note "$line"
  if ((ok_rows < acked)); then
    fail "[$ENGINE] $name: $((acked - ok_rows)) acknowledged writes have no successful log row (lost)"
  elif ((ok_rows - acked > CONNECTIONS + R[err_timeout])); then
    fail "[$ENGINE] $name: $((ok_rows - acked)) more successful log rows than 2xx answers (more than the $CONNECTIONS connections in flight)"
  fi
  if [[ -n $ENTITY_SQL ]] && ((entity_rows != ok_rows)); then
    fail "[$ENGINE] $name: $entity_label $entity_rows != successful log rows $ok_rows"
  fi
  if ((failed_rows < bad)); then
    fail "[$ENGINE] $name: $bad non-2xx answers but only $failed_rows failed log rows"
  fi
  if [[ -n ${OUTBOX_CHECK:-} ]]; then
    # Every stored change has its outgoing event (one per created lead), subscribed or not.
    local outbox_rows deliveries
    outbox_rows=$(( $(count_outbox) - BEFORE_OUTBOX ))
    deliveries=$(( $(count_deliveries) - BEFORE_DELIVERIES ))
    line="[$ENGINE] $name accounting: outbox events $outbox_rows, deliveries $deliveries"
    if ((outbox_rows != ok_rows)); then
      fail "[$ENGINE] $name: outbox events $outbox_rows != successful log rows $ok_rows"
    fi
    if [[ $OUTBOX_CHECK == subscribed ]]; then
      ((deliveries != outbox_rows)) && fail "[$ENGINE] $name: deliveries $deliveries != outbox events $outbox_rows (one subscription)"
      local secs
      secs=$(seconds_of "$DURATION")
      line+=", delivered during the run $DELIVERED_IN_RUN ($((DELIVERED_IN_RUN / secs))/s)"
      printf '%s %s\n' "$ENGINE" "$((DELIVERED_IN_RUN / secs))" >>"$TMP/delivered.txt"
    elif ((deliveries != 0)); then
      fail "[$ENGINE] $name: $deliveries deliveries without a subscription"
    fi
    log "$line"
    note "$line"
  fi
  if [[ $ENGINE == postgres ]]; then
    # Pooled connections left inside a transaction while the server is idle (see README)
    local idle_tx
    idle_tx=$(sql "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state like 'idle in transaction%'")
    if ((idle_tx > 0)); then
      note "[$ENGINE] $name: $idle_tx pooled server connection(s) left 'idle in transaction' after the run"
      log "[$ENGINE] $name: $idle_tx pooled server connection(s) left 'idle in transaction' after the run"
    fi
  fi
}

# SQLite's own floor for create_lead's writes: examples/sqlite_alone.rs runs the same statements
# single-threaded with rusqlite, in batches of 16 jobs (about the batches the writer sees under
# this load), while the server idles. Its jobs/s bounds what one writer thread can commit.
sqlite_alone_create() {
  if [[ ! -x $ALONE ]]; then
    note "[$ENGINE] sqlite_alone_create: $ALONE not built, skipped"
    return 0
  fi
  local out rate us
  out=$("$ALONE" 200000 16) || die "sqlite_alone failed: $out"
  rate=$(sed -n 's/.*: \([0-9]*\) jobs\/s.*/\1/p' <<<"$out")
  us=$(sed -n 's/.*, \([0-9.]*\) us per job.*/\1/p' <<<"$out")
  local row
  row=$(awk -v rps="$rate" -v ceil="${CEILING_RPS:-0}" 'BEGIN {
      ratio = (ceil > 0) ? sprintf("%.3f", rps / ceil) : "-"
      printf "%-22s %10.0f %9s %9s %8s %8s %8s %8s %9s", "sqlite_alone_create", rps, "-", "-", "-", "-", ratio, "-", "-"
    }')
  echo "$row" >>"$ENGINE_DIR/table.txt"
  log "[$ENGINE] $out"
  note "[$ENGINE] sqlite_alone_create: create_lead's statements straight through rusqlite on one thread, batches of 16: $rate jobs/s, $us us per job (SQLite alone, no HTTP)"
}

# The database's own ceiling for create_lead's writes: pgbench runs bench/pgbench_create_lead.sql
# (the same three inserts in one transaction) with prepared statements at wrk's concurrency,
# against the bench database, while the server idles. The row shows what PostgreSQL alone commits
# on this machine; create_lead cannot exceed it.
pg_alone_create() {
  if ! command -v pgbench >/dev/null; then
    note "[$ENGINE] pg_alone_create: pgbench not found, skipped"
    return 0
  fi
  local dir=$ENGINE_DIR secs ts out
  secs=$(seconds_of "$DURATION")
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  log "[$ENGINE] pg_alone_create: pgbench -c $CONNECTIONS -j $THREADS -T $secs"
  rm -f "$dir"/pgbench_log.*
  out=$(cd "$dir" && pgbench -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -n -M prepared -c "$CONNECTIONS" -j "$THREADS" \
    -T "$secs" -D ts="$ts" -l --log-prefix=pgbench_log -f "$BENCH/pgbench_create_lead.sql" "$PG_DB" 2>&1) ||
    { echo "$out" >&2; die "pgbench failed"; }
  local tps failed
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  # Per-transaction log lines: client, transaction, latency in µs, …
  local p50 p99
  read -r p50 p99 < <(cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print 0, 0; exit } i50 = int(NR * 0.50); i99 = int(NR * 0.99);
      if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; print v[i50], v[i99] }')
  rm -f "$dir"/pgbench_log.*
  local row
  row=$(awk -v rps="$tps" -v p50="$p50" -v p99="$p99" -v bad="${failed:-0}" -v ceil="${CEILING_RPS:-0}" 'BEGIN {
      ratio = (ceil > 0) ? sprintf("%.3f", rps / ceil) : "-"
      printf "%-22s %10.0f %9.2f %9.2f %8d %8s %8s %8s %9s", "pg_alone_create", rps, p50 / 1000, p99 / 1000, bad, "-", ratio, "-", "-"
    }')
  echo "$row" >>"$dir/table.txt"
  log "[$ENGINE] pg_alone_create: $tps tps, p50 $p50 us, p99 $p99 us, failed ${failed:-0}"
  note "[$ENGINE] pg_alone_create: pgbench with create_lead's three inserts per transaction, $CONNECTIONS clients: $(printf '%.0f' "$tps") transactions/s (PostgreSQL alone, no HTTP)"
}

# The scenarios past the ingest runs (BENCH_SCENARIOS=all): hot rows, the generic route's mix,
# each engine alone, and GET /logs over a large table.
run_more_scenarios() {
  # Records the update scenarios act on
  log "[$ENGINE] creating records for the update scenarios"
  local hot=() leads=() pre_leads=() out i
  for i in 1 2 3 4; do
    out=$(post_signed "$API/incoming/lead/create" "$(lead_json "hot$i")")
    hot+=("$(json_id lead_id "$out")")
  done
  for i in $(seq 1 16); do
    out=$(post_signed "$API/incoming/lead/create" "$(lead_json "pool$i")")
    leads+=("$(json_id lead_id "$out")")
    out=$(post_signed "$API/incoming/pre-lead/create" "$(inquiry_json "$i")")
    pre_leads+=("$(json_id pre_lead_id "$out")")
  done
  [[ ${#hot[@]} -eq 4 && -n ${hot[3]} && ${#leads[@]} -eq 16 && -n ${leads[15]} && -n ${pre_leads[15]} ]] ||
    die "could not read the ids of the created records"

  # (c) lead_status_update on 4 hot leads, cycling statuses (typed route)
  local statuses=(contacted qualified proposal_sent negotiation won lost new) st id
  local hot_manifest=$ENGINE_DIR/hot.manifest
  : >"$hot_manifest"
  for st in "${statuses[@]}"; do
    for id in "${hot[@]}"; do
      add_request "$hot_manifest" POST "$API/incoming/lead/$id/status/update" \
        "{\"event\":\"lead_status_update\",\"source\":\"bench\",\"data\":{\"lead_status\":\"$st\",\"remarks\":\"bench cycle to $st\"}}"
    done
  done
  ENTITY_SQL="select count(*) from status_history" PRE_MEASURE=snapshot_before \
    scenario hot_status_update "$DURATION" "$BASE$API/incoming/lead/${hot[0]}/status/update" "$hot_manifest"
  ENTITY_SQL="select count(*) from status_history" account hot_status_update "status_history rows"

  # (d) mixed events on the generic route, 100 distinct signed bodies
  local mixed=$ENGINE_DIR/mixed.manifest slot lead pre json
  local mix=(new_inquiry new_lead lead_status_update lead_memo_add lead_activity_add
    new_inquiry new_lead lead_status_update lead_memo_add lead_activity_add
    new_inquiry new_lead lead_status_update lead_memo_add lead_activity_add
    pre_lead_memo_add pre_lead_memo_add lead_update pre_lead_status_update lead_contact_add)
  local pre_statuses=(contacted working qualified on_hold) activities=(call email meeting task note)
  : >"$mixed"
  for i in $(seq 0 99); do
    slot=${mix[$((i % ${#mix[@]}))]}
    lead=${leads[$((i % 16))]}
    pre=${pre_leads[$((i % 16))]}
    case $slot in
      new_inquiry) json=$(inquiry_json "m$i") ;;
      new_lead) json=$(lead_json "m$i") ;;
      lead_status_update) json="{\"event\":\"lead_status_update\",\"source\":\"bench\",\"data\":{\"lead_id\":$lead,\"lead_status\":\"${statuses[$((i % 7))]}\",\"remarks\":\"mixed $i\"}}" ;;
      lead_memo_add) json="{\"event\":\"lead_memo_add\",\"source\":\"bench\",\"data\":{\"lead_id\":$lead,\"title\":\"Call notes $i\",\"content\":\"Customer asked about pricing tiers and onboarding, follow up next week ($i).\",\"memo_type\":\"call\"}}" ;;
      lead_activity_add) json="{\"event\":\"lead_activity_add\",\"source\":\"bench\",\"data\":{\"lead_id\":$lead,\"activity_type\":\"${activities[$((i % 5))]}\",\"title\":\"Activity $i\",\"description\":\"Benchmark activity\",\"scheduled_at\":\"2026-12-01T10:00:00Z\",\"outcome\":\"pending\"}}" ;;
      pre_lead_memo_add) json="{\"event\":\"pre_lead_memo_add\",\"source\":\"bench\",\"data\":{\"pre_lead_id\":$pre,\"title\":\"Inquiry note $i\",\"content\":\"Wants a callback in the afternoon ($i).\",\"memo_type\":\"general\"}}" ;;
      lead_update) json="{\"event\":\"lead_update\",\"source\":\"bench\",\"data\":{\"lead_id\":$lead,\"priority\":\"high\",\"city\":\"Capital City $i\",\"notes\":\"updated by mixed load $i\"}}" ;;
      pre_lead_status_update) json="{\"event\":\"pre_lead_status_update\",\"source\":\"bench\",\"data\":{\"pre_lead_id\":$pre,\"lead_status\":\"${pre_statuses[$((i % 4))]}\",\"remarks\":\"mixed $i\"}}" ;;
      lead_contact_add) json="{\"event\":\"lead_contact_add\",\"source\":\"bench\",\"data\":{\"lead_id\":$lead,\"first_name\":\"Contact$i\",\"last_name\":\"Person\",\"email\":\"contact$i@example.com\",\"designation\":\"CTO\"}}" ;;
    esac
    add_request "$mixed" POST "$API/incoming" "$json"
  done
  ENTITY_SQL="" PRE_MEASURE=snapshot_before scenario mixed_generic "$DURATION" "$BASE$API/incoming" "$mixed"
  ENTITY_SQL="" account mixed_generic ""

  # (e) PostgreSQL alone: create_lead's transaction straight from pgbench, no HTTP in front
  if [[ $ENGINE == postgres ]]; then pg_alone_create; else sqlite_alone_create; fi

  # 7. GET /logs over a large table
  if [[ $LOGS_ROWS -gt 0 ]]; then
    log "[$ENGINE] seeding $LOGS_ROWS webhook_logs rows"
    if [[ $ENGINE == sqlite ]]; then
      python3 "$BENCH/seed_logs_sqlite.py" "$DB_FILE" "$LOGS_ROWS" | sed "s/^/[$ENGINE] /"
      note "[$ENGINE] after seeding: database $(du -m "$DB_FILE" | cut -f1) MB, WAL $(( $(stat -c %s "$WAL_FILE" 2>/dev/null || echo 0) / 1048576 )) MB"
    else
      psql_bench -v rows="$LOGS_ROWS" -f "$BENCH/seed_logs_postgres.sql" | grep -E 'Time:|^[0-9]+$' | tail -3 | sed "s/^/[$ENGINE] /"
      note "[$ENGINE] after seeding: database $(psql_bench -At -c "select pg_database_size(current_database()) / 1048576") MB"
    fi
    local auth="Authorization: Bearer $TOKEN"
    local since
    since=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)
    local -a queries=(
      "logs_page1|"
      "logs_deep_page|page=$DEEP_PAGE"
      "logs_failed|is_successful=false"
      "logs_event|event=lead_update"
      "logs_direction|direction=incoming"
      "logs_entity|entity_type=lead&entity_id=42"
      "logs_since_1d|since=$since"
    )
    local q name query url total
    # Check every query answers 200 before loading it
    for q in "${queries[@]}"; do
      name=${q%%|*} query=${q#*|}
      url="$BASE$API/logs${query:+?$query}"
      out=$(curl -sS -o "$ENGINE_DIR/$name.json" -w '%{http_code} %{time_total}' -H "$auth" "$url")
      total=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$ENGINE_DIR/$name.json")
      [[ ${out% *} == 200 ]] || fail "[$ENGINE] $name: GET $url answered ${out% *}: $(head -c 300 "$ENGINE_DIR/$name.json")"
      log "[$ENGINE] $name: one request alone: ${out% *} in ${out#* }s, total=$total"
      note "[$ENGINE] $name: ${query:-no filter} matches $total rows; one request alone took ${out#* }s"
    done
    for q in "${queries[@]}"; do
      name=${q%%|*} query=${q#*|}
      CONNECTIONS=$LOGS_CONNECTIONS PRE_MEASURE="" scenario "$name" "$LOGS_DURATION" "$BASE$API/logs${query:+?$query}" - "$auth"
    done
  fi

}

# ---------------------------------------------------------------------------------------------
# One engine

run_engine() {
  local i out
  ENGINE=$1
  ENGINE_DIR=$TMP/$ENGINE
  BODIES=$ENGINE_DIR/bodies
  mkdir -p "$BODIES"
  : >"$ENGINE_DIR/table.txt"
  MAX_WAL=0
  CEILING_RPS=""
  log "=== engine: $ENGINE — load:$(load_average)"

  if [[ $ENGINE == sqlite ]]; then
    DB_FILE=$ENGINE_DIR/bench.db
    WAL_FILE=$DB_FILE-wal
    DB_URL=sqlite://$DB_FILE
    TRUE_SQL=1 FALSE_SQL=0
  else
    for i in $(seq 1 30); do pg_admin -c 'select 1' >/dev/null 2>&1 && break; sleep 1; done
    pg_admin -c 'select 1' >/dev/null || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT"
    PG_DB=crm_bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
    pg_create "$PG_DB"
    DB_URL=$PG/$PG_DB
    WAL_FILE=""
    TRUE_SQL=true FALSE_SQL=false
    log "created database $PG_DB"
  fi
  SERVER_LOG=$ENGINE_DIR/server.log
  start_server "$DB_URL" CRM_DELIVERY_ALLOW_PRIVATE=true NO_COLOR=1
  log "server pid $SERVER_PID on $BASE is healthy after $((START_TENTHS / 10)).$((START_TENTHS % 10))s"

  # (a) ceiling: the no-op route of the same binary, through the same Lua script
  PRE_MEASURE="" scenario healthz "$DURATION" "$BASE/healthz" -

  # (b) new_lead creates on the typed route: the API document's full example, distinct people
  lead_manifest
  ENTITY_SQL="select count(*) from leads" PRE_MEASURE=snapshot_before WARMUP_MANIFEST=$LEAD_WARMUP_MANIFEST \
    scenario create_lead "$DURATION" "$BASE$API/incoming/lead/create" "$LEAD_MANIFEST"
  ENTITY_SQL="select count(*) from leads" OUTBOX_CHECK=plain account create_lead "leads created"

  # (b2) the same with one active subscription: every create also queues a delivery, which the
  # server's delivery worker sends to a local receiver (nginx answering 200) on the same cores
  start_receiver
  local sub_id
  out=$(curl -sS -X POST "$BASE$API/subscriptions" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "{\"url\":\"$RECEIVER_URL\",\"description\":\"bench\"}")
  sub_id=$(json_id id "$out")
  [[ -n $sub_id ]] || die "could not create the subscription: $out"
  ENTITY_SQL="select count(*) from leads" PRE_MEASURE=snapshot_before POST_MEASURE=delivered_during_run \
    WARMUP_MANIFEST=$LEAD_WARMUP_MANIFEST scenario create_lead_subscribed "$DURATION" "$BASE$API/incoming/lead/create" "$SUBSCRIBED_MANIFEST"
  ENTITY_SQL="select count(*) from leads" OUTBOX_CHECK=subscribed account create_lead_subscribed "leads created"
  # The queue drains (bounded), then the subscription goes: the runs below measure ingest alone
  local pending i
  for i in $(seq 1 120); do
    pending=$(count_deliveries pending)
    ((pending == 0)) && break
    sleep 0.5
  done
  note "[$ENGINE] create_lead_subscribed: deliveries still pending after the drain: $pending; dead: $(count_deliveries dead)"
  curl -sS -o /dev/null -X DELETE "$BASE$API/subscriptions/$sub_id" -H "Authorization: Bearer $TOKEN"

  if [[ $SCENARIOS == all ]]; then
    run_more_scenarios
  fi

  stop_server
  if [[ $STOP_RC -eq 0 ]]; then
    log "server stopped on SIGTERM with exit code 0 after $((STOP_TENTHS / 10)).$((STOP_TENTHS % 10))s"
    note "[$ENGINE] SIGTERM: exit code 0 after $((STOP_TENTHS / 10)).$((STOP_TENTHS % 10))s"
  fi
  # Lines at warn or above, grouped by message (timestamps and colours removed)
  sed 's/\x1b\[[0-9;]*m//g' "$ENGINE_DIR/server.log" >"$ENGINE_DIR/server.plain.log"
  local warn_lines
  warn_lines=$(grep -c . "$ENGINE_DIR/server.plain.log" || true)
  if [[ $warn_lines -gt 0 ]]; then
    note "[$ENGINE] server log: $warn_lines lines at warn or above (count, message):"
    while IFS= read -r line; do note "    $line"; done < <(
      grep . "$ENGINE_DIR/server.plain.log" | sed -E 's/^[0-9T:.Z-]+ +//; s/(aquired_after_secs)=[0-9.]+/\1=N/g' | sort | uniq -c | sort -rn | head -10)
    local slowest
    slowest=$(grep -o 'aquired_after_secs=[0-9.]*' "$ENGINE_DIR/server.plain.log" | cut -d= -f2 | sort -n | tail -1 || true)
    if [[ -n $slowest ]]; then note "    slowest database pool acquire: ${slowest:0:5}s (the pool times out at 10s)"; fi
  else
    note "[$ENGINE] server log: no lines at warn or above"
  fi

  if [[ $ENGINE == postgres ]]; then
    pg_admin -c "drop database if exists $PG_DB with (force)" >/dev/null
    log "dropped database $PG_DB"
    PG_DB=""
    PG_DBS=()
  fi
  {
    echo
    echo "== $ENGINE  ($THREADS threads; $CONNECTIONS connections, $DURATION per write run; $LOGS_CONNECTIONS connections, $LOGS_DURATION per logs run)"
    printf '%-22s %10s %9s %9s %8s %8s %8s %8s %s\n' scenario "req/s" "p50 ms" "p99 ms" non-2xx "sock err" "vs ceil" "RSS MB" \
      "$([[ $ENGINE == sqlite ]] && printf '%9s' 'WAL MB' || printf '%9s' '-')"
    cat "$ENGINE_DIR/table.txt"
    if [[ $ENGINE == sqlite ]]; then
      echo "largest SQLite WAL seen during the runs: $(awk -v w="$MAX_WAL" 'BEGIN { printf "%.1f MB", w / 1048576 }')"
    fi
  } >"$ENGINE_DIR/summary.txt"
  cat "$ENGINE_DIR/summary.txt"
}

# The ingest figures of every engine in one table: ratios to that engine's own healthz run, p99,
# peak RSS, non-2xx and socket errors; for the subscribed run also its ratio to the plain run and
# the deliveries the server completed per second while it ran.
ingest_summary() {
  [[ -s $TMP/ingest.txt ]] || return 0
  echo
  echo "== ingest (create_lead: the API document's full new_lead example, signed; ratios to healthz of the same run)"
  awk -v delivered="$TMP/delivered.txt" '
    BEGIN { while ((getline line < delivered) > 0) { split(line, f, " "); dps[f[1]] = f[2] } }
    { eng = $1; name = $2; rps[eng, name] = $3; ratio[eng, name] = $4; p99[eng, name] = $5 / 1000
      rss[eng, name] = $6 / 1024; bad[eng, name] = $7; err[eng, name] = $8; order[++n] = eng SUBSEP name }
    END {
      printf "%-9s %-24s %10s %8s %8s %8s %8s %9s %12s %12s\n", "engine", "scenario", "req/s", "vs ceil", "p99 ms", "RSS MB", "non-2xx", "sock err", "vs unsubscr", "delivered/s"
      for (i = 1; i <= n; i++) {
        split(order[i], k, SUBSEP); eng = k[1]; name = k[2]
        rel = "-"; d = "-"
        if (name == "create_lead_subscribed" && rps[eng, "create_lead"] > 0) {
          rel = sprintf("%.3f", rps[eng, name] / rps[eng, "create_lead"]); d = (eng in dps) ? dps[eng] : "-"
        }
        printf "%-9s %-24s %10.0f %8s %8.2f %8.1f %8d %9d %12s %12s\n", eng, name, rps[eng, name], ratio[eng, name], p99[eng, name], rss[eng, name], bad[eng, name], err[eng, name], rel, d
      }
    }' "$TMP/ingest.txt"
}

for engine in $ENGINES; do
  run_engine "$engine"
done

results_header
for engine in $ENGINES; do cat "$TMP/$engine/summary.txt"; done
ingest_summary
echo
echo "== checks and notes"
report_checks
