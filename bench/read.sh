#!/usr/bin/env bash
# Read side at a million rows, on each engine: lead detail, list filters and `q`, the stats
# routes, and the log listing by cursor, against the targets of design §8's read side.
#
#   bench/read.sh
#   BENCH_LEADS=200000 BENCH_LOGS_ROWS=200000 BENCH_DURATION=3s BENCH_ENGINES=sqlite bench/read.sh
#
# For each engine: a fresh database is migrated by the release binary (`crm-webhooks migrate`),
# seeded with BENCH_LOGS_ROWS webhook log rows (bench/seed_logs_*) and BENCH_LEADS leads with
# their status history, possible duplicates and one lead with 50 memos and 50 history rows
# (bench/seed_read.py), then the server starts on it and is left to fold what the seeding added
# (the pipeline deltas the triggers wrote, the log rows into the traffic rollups) before anything
# is measured. The log is walked by `next_cursor` to page BENCH_LOG_PAGE. Each URL then gets one
# checked request (status 200) and `wrk -t1 -c1 -d$BENCH_DURATION --latency`: one client, one
# request at a time, so p50 and p99 are the time of one answer, not a queue. One table per engine;
# see bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
LOG_FD=2           # stdout carries the tables
START_SECONDS=300  # a start on a million seeded rows (a newer build migrates its copy first)
LEADS=${BENCH_LEADS:-1000000}
LOG_ROWS=${BENCH_LOGS_ROWS:-1000000}
LOG_PAGE=${BENCH_LOG_PAGE:-5000}
DURATION=${BENCH_DURATION:-5s}
ENGINES=${BENCH_ENGINES:-sqlite postgres}

make_tmp read

log "crm-webhooks read benchmark — leads=$LEADS log rows=$LOG_ROWS duration=$DURATION engines='$ENGINES'"
log "machine: nproc=$(nproc); uptime:$(uptime)"
build_release
[[ -x $BIN ]] || die "$BIN is missing"
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"

# Pending work the server folds after the seeding: pipeline deltas, and log rows not yet rolled
# up. One SQL text for both engines.
BACKLOG_SQL="select (select count(*) from pipeline_deltas) + (select count(*) from webhook_logs
  where id > (select folded_id from traffic_rollup_state where id = 1))"
backlog() { db_value "$1" "$BACKLOG_SQL"; } # database url

walk_logs() { # page -> the cursor that opens that page of GET /logs (newest first, 20 a page)
  python3 - "$BASE" "$TOKEN" "$1" <<'PY'
import http.client, json, sys, urllib.parse
base, token, page = sys.argv[1], sys.argv[2], int(sys.argv[3])
host = urllib.parse.urlparse(base).netloc
conn = http.client.HTTPConnection(host, timeout=60)
cursor = None
for _ in range(page - 1):
    path = "/api/v1/webhooks/logs" + ("?cursor=" + cursor if cursor else "")
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        sys.exit("GET %s answered %d: %s" % (path, answer.status, body[:200]))
    cursor = json.loads(body)["next_cursor"]
    if cursor is None:
        sys.exit("the log has fewer than %d pages" % page)
print(cursor)
PY
}

items() { # url -> number of items answered (or "1" for an object without items); fails on non-200
  local status
  status=$(curl -sS -o "$TMP/answer.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$1")
  [[ $status == 200 ]] || { head -c 300 "$TMP/answer.json" >&2; die "GET $1 answered $status"; }
  python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); print(len(a["items"]) if isinstance(a, dict) and "items" in a else len(a.get("buckets", [])) or 1)' \
    "$TMP/answer.json"
}

ms() { # wrk latency text (812.00us, 1.20ms, 2.01s) -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.2f", v * 1000 } }'
}

measure() { # name target_ms path
  local name=$1 target=$2 url=$BASE$3 rows out p50 p99 requests non2xx verdict
  rows=$(items "$url")
  out=$TMP/wrk.txt
  wrk -t1 -c1 -d"$DURATION" --timeout 10s --latency -H "Authorization: Bearer $TOKEN" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed on $url"; }
  p50=$(ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  requests=$(awk '/requests in/ { print $1 }' "$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$out")
  verdict=""
  if [[ $target != - ]]; then
    verdict=$(awk -v p="$p50" -v t="$target" 'BEGIN { print (p <= t) ? "ok" : "MISS" }')
  fi
  [[ -z $non2xx ]] || verdict="$verdict non-2xx=$non2xx"
  printf '%-36s %7s %9s %9s %9s %8s  %s\n' "$name" "$rows" "$requests" "$p50" "$p99" "$target" "$verdict" >>"$TABLE"
  log "  $name: p50 $p50 ms, p99 $p99 ms ($requests requests, $rows rows)"
  LAST_P50=$p50
}

NOW=$(date -u +%s)
day() { date -u -d "@$(( NOW - $1 * 86400 ))" +%Y-%m-%d; }
SPECIAL=$(( LEADS / 2 ))

until_cursor() { # days -> the next_cursor of the first page of leads created that many days back
  curl -sS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/leads?created_until=$(day "$1")" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])'
}

measure_all() { # engine database-url label -> prints the table
  local engine=$1 url=$2 label=$3 started
  # No log retention: the seeded log spans 30 days and must stay whole while it is measured.
  start_server "$url" CRM_LOG_RETENTION=0
  started=$(date +%s)
  while (( $(backlog "$url") > 0 )); do sleep 1; done
  log "[$engine $label] the server folded the pipeline deltas and the log into the rollups in $(( $(date +%s) - started )) s"
  log "[$engine $label] walking GET /logs to page $LOG_PAGE by cursor"
  CURSOR=$(walk_logs "$LOG_PAGE")

  TABLE=$TMP/$engine.$label.table
  printf '%-36s %7s %9s %9s %9s %8s  %s\n' measured rows requests p50_ms p99_ms target "" >"$TABLE"
  local L=/api/v1/leads
  measure "lead detail (50 memos, 50 history)" 5 "$L/$SPECIAL"
  measure "leads, no filter" 10 "$L"
  measure "leads status=won" 10 "$L?status=won"
  measure "leads status=negotiation" 10 "$L?status=negotiation"
  measure "leads source=walk_in" 10 "$L?source=walk_in"
  measure "leads priority=critical" 10 "$L?priority=critical"
  measure "leads assigned_to=7" 10 "$L?assigned_to=7"
  measure "leads discarded=true" 10 "$L?discarded=true"
  measure "leads discarded=false" 10 "$L?discarded=false"
  measure "leads has_duplicates=true" 10 "$L?has_duplicates=true"
  measure "leads has_duplicates=false" 10 "$L?has_duplicates=false"
  measure "leads created_since 7 days back" 10 "$L?created_since=$(day 7)"
  measure "leads created_since 1 year back" 10 "$L?created_since=$(day 365)"
  measure "leads created_until 2 years back" 10 "$L?created_until=$(day 723)"
  measure "leads created_until 1 year back" 10 "$L?created_until=$(day 365)"
  measure "leads created_until 30 days back" 10 "$L?created_until=$(day 30)"
  measure "leads created_since 1 day back" 10 "$L?created_since=$(day 1)"
  measure "leads created_until 1 year back, won" 10 "$L?created_until=$(day 365)&status=won"
  measure "leads created_until 1 year back, q" 10 "$L?created_until=$(day 365)&q=gonzalez"
  measure "leads created_until 1 year back, dups" 10 "$L?created_until=$(day 365)&has_duplicates=true"
  measure "leads created_until 1 year back p.2" 10 "$L?created_until=$(day 365)&cursor=$(until_cursor 365)"
  measure "leads sort=updated_at updated_since" 10 "$L?sort=updated_at&updated_since=$(day 3)"
  measure "leads q e-mail prefix" 10 "$L?q=jennifer.ga"
  measure "leads q phone prefix" 10 "$L?q=%2B1%20(415)%2055"
  measure "leads q last name" 10 "$L?q=gonzalez"
  measure "leads q company" 10 "$L?q=northwind%20lo"
  measure "leads q 1 letter" 10 "$L?q=k"
  measure "leads q 2 letters" 10 "$L?q=ma"
  measure "leads q 2 letters, rare" 10 "$L?q=qz"
  measure "stats/pipeline" 50 "/api/v1/stats/pipeline"
  measure "stats/traffic one day by minute" 100 "/api/v1/stats/traffic?since=$(day 2)&until=$(day 1)&bucket=minute"
  measure "logs page 1" - "/api/v1/webhooks/logs"
  local page1=$LAST_P50
  measure "logs page $LOG_PAGE by cursor" - "/api/v1/webhooks/logs?cursor=$CURSOR"
  awk -v a="$LAST_P50" -v b="$page1" -v n="$LOG_PAGE" 'BEGIN {
    r = a / b; printf "logs page %d / page 1 (p50): %.2f (target <= 2: %s)\n", n, r, (r <= 2) ? "ok" : "MISS" }' >>"$TABLE"
  stop_server
  echo "== $engine, $label  (leads=$LEADS, log rows=$LOG_ROWS; wrk -t1 -c1 -d$DURATION per row; $(uptime | sed 's/.*load/load/'))"
  cat "$TABLE"
}

# The binaries measured, each on its own copy of the seeded database: BENCH_BASELINE_BIN (if
# set) first, as `baseline`, then BIN as `build`. The seed is migrated by the first of them, so
# that a later build applies its newer migrations on its copy at start.
RUNS=()
[[ -z ${BENCH_BASELINE_BIN:-} ]] || RUNS+=("baseline=$BENCH_BASELINE_BIN")
RUNS+=("build=$BIN")
SEED_BIN=${RUNS[0]#*=}

log "generating $LEADS leads (bench/seed_read.py), once for every engine"
mkdir "$TMP/rows"
python3 "$ROOT/bench/seed_read.py" generate "$TMP/rows" "$LEADS" >&2

for ENGINE in $ENGINES; do
  started=$(date +%s)
  if [[ $ENGINE == sqlite ]]; then
    SEED_URL=sqlite://$TMP/seed.db
    CRM_DATABASE_URL=$SEED_URL RUST_LOG=warn "$SEED_BIN" migrate >/dev/null
    log "[$ENGINE] seeding $LOG_ROWS log rows"
    python3 "$ROOT/bench/seed_logs_sqlite.py" "$TMP/seed.db" "$LOG_ROWS" >&2
    log "[$ENGINE] seeding $LEADS leads"
    python3 "$ROOT/bench/seed_read.py" sqlite "$TMP/seed.db" "$TMP/rows" >&2
  else
    SEED_DB=crm_readbench_$(od -An -N4 -tx4 /dev/urandom | tr -d " ")
    SEED_URL=$PG/$SEED_DB
    pg_create "$SEED_DB"
    CRM_DATABASE_URL=$SEED_URL RUST_LOG=warn "$SEED_BIN" migrate >/dev/null
    log "[$ENGINE] seeding $LOG_ROWS log rows"
    psql -X -q -v ON_ERROR_STOP=1 -v rows="$LOG_ROWS" -f "$ROOT/bench/seed_logs_postgres.sql" "$SEED_URL" >/dev/null
    log "[$ENGINE] seeding $LEADS leads"
    python3 "$ROOT/bench/seed_read.py" postgres "$SEED_URL" "$TMP/rows" >&2
  fi
  log "[$ENGINE] seeded in $(( $(date +%s) - started )) s"
  for run in "${RUNS[@]}"; do
    label=${run%%=*}
    BIN_RUN=${run#*=}
    if [[ $ENGINE == sqlite ]]; then
      rm -f "$TMP"/run.db*
      cp "$TMP/seed.db" "$TMP/run.db"
      URL=sqlite://$TMP/run.db
    else
      RUN_DB=${SEED_DB}_$label
      pg_create "$RUN_DB" "$SEED_DB"
      URL=$PG/$RUN_DB
    fi
    BIN=$BIN_RUN measure_all "$ENGINE" "$URL" "$label"
    if [[ $ENGINE == postgres ]]; then pg_admin -c "drop database if exists $RUN_DB with (force)"; fi
  done
  if [[ $ENGINE == postgres ]]; then pg_admin -c "drop database if exists $SEED_DB with (force)"; fi
  rm -f "$TMP"/seed.db* "$TMP"/run.db*
done
log "done; uptime:$(uptime)"
