#!/usr/bin/env bash
# Ingest during a retention purge, against ingest without one, on each engine.
#
#   bench/retention.sh
#   BENCH_PURGE_ROWS=200000 BENCH_DURATION=10s BENCH_ENGINES=sqlite bench/retention.sh
#
# For each engine: one database is migrated and seeded with BENCH_PURGE_ROWS webhook log rows
# created 40 days ago (in SQL, marked as folded into the traffic rollups, as a day-old database
# would have them), then copied for each run. A round is two runs of `wrk` posting the spec's
# full `new_lead` example (with a unique e-mail and phone each), signed, to a fresh copy: `keep`
# with CRM_LOG_RETENTION=0 (no purge), then `purge` with CRM_LOG_RETENTION=30d (the purge of
# every seeded row starts at start-up and runs through the measured window). Each row of the
# table is one run; `ratio` is a purge run's req/s over the keep run of its round, and the last
# line divides the purge runs' req/s summed over all rounds by the keep runs' (the runs
# alternate, so load from elsewhere on the machine falls on both kinds alike). After the last
# purge run the script waits for the purge to finish and prints how long it took and, on SQLite,
# the file's pages before and after: the pages the purge freed are taken by the rows ingested
# afterwards. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ROWS=${BENCH_PURGE_ROWS:-1000000}
DURATION=${BENCH_DURATION:-20s}
WARMUP=${BENCH_WARMUP:-2s}
ROUNDS=${BENCH_ROUNDS:-2}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
ENGINES=${BENCH_ENGINES:-sqlite postgres}
CREATE=/api/v1/webhooks/incoming/lead/create

make_tmp retention

log "crm-webhooks retention benchmark — rows=$ROWS duration=$DURATION rounds=$ROUNDS engines='$ENGINES'"
log "machine: nproc=$(nproc); uptime:$(uptime)"
build_release
[[ -x $BIN ]] || die "$BIN is missing"

# The API document's full new_lead example with its e-mail and phone made unique, BODIES times,
# each signed (bench/lead_bodies.py, as bench/run.sh sends them). The same e-mail sent again and
# again would make every lead a possible duplicate of all the earlier ones, and that matching,
# not the purge, would be measured. No idempotency header: each request is a new lead.
BODIES=${BENCH_BODIES:-40000}
python3 "$ROOT/bench/lead_bodies.py" "$ROOT/docs/examples/new_lead.request.json" "$SECRET" "$BODIES" \
  "$TMP/bodies" "$CREATE" >"$TMP/manifest"

purged() { # rows purged from webhook_logs so far
  curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/metrics" |
    sed -n 's/^crm_retention_purged_rows_total{table="webhook_logs"} \([0-9.e+]*\)$/\1/p' | awk '{printf "%d", $1}'
}

pages() { # sqlite file -> "page_count freelist_count"
  python3 - "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
print(c.execute("pragma page_count").fetchone()[0], c.execute("pragma freelist_count").fetchone()[0])
PY
}

# One seeded row per n, created 40 days ago (t, a time per engine); one SQL text for both.
# shellcheck disable=SC2016
SEED_ROWS='insert into webhook_logs (direction, event, source, method, path, remote_addr, request_headers,
    request_body, response_status, response_body, is_successful, entity_type, entity_id, request_id,
    duration_ms, created_at, processed_at)
select '"'incoming', 'new_lead', 'erp', 'POST', '/api/v1/webhooks/incoming/lead/create', '203.0.113.7',
    '{\"content-type\": \"application/json\", \"x-webhook-signature\": \"[redacted]\"}',
    '{\"event\": \"new_lead\", \"source\": \"erp\", \"data\": {\"first_name\": \"Seeded' || n
      || '\", \"last_name\": \"Row\", \"email\": \"seed' || n || '@example.com\", \"company_name\": \"Seed Co\", \"notes\": \"row '
      || n || ' seeded by bench/retention.sh, older than the retention\"}}',
    200, '{\"status\":\"success\",\"message\":\"Lead created successfully\",\"data\":{\"lead_id\":' || n || '}}',
    true, 'lead', n, 'req-' || n, 3.5, t, t"'
from'
FOLDED="update traffic_rollup_state set folded_id = (select max(id) from webhook_logs) where id = 1"

seed_sqlite() { # file
  CRM_DATABASE_URL=sqlite://$1 RUST_LOG=warn "$BIN" migrate
  python3 - "$1" "$ROWS" "$SEED_ROWS" "$FOLDED" <<'PY'
import sqlite3, sys
path, rows, seed, folded = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = sqlite3.connect(path)
c.execute("with recursive g(n) as (select 1 union all select n + 1 from g where n < ?) " + seed
          + " (select n, strftime('%Y-%m-%dT%H:%M:%S', 'now', '-40 days', '+' || (n / 100) || ' seconds')"
          + " || '.000000Z' as t from g)", (rows,))
c.execute(folded)
c.commit()
c.execute("pragma wal_checkpoint(truncate)")
PY
}

seed_postgres() { # database
  CRM_DATABASE_URL=$PG/$1 RUST_LOG=warn "$BIN" migrate
  psql -X -q -v ON_ERROR_STOP=1 "$PG/$1" <<SQL
$SEED_ROWS (select n, to_char((now() - interval '40 days' + (n / 100) * interval '1 second') at time zone 'UTC',
  'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t from generate_series(1, $ROWS) n) s;
$FOLDED;
vacuum analyze;
SQL
}

for ENGINE in $ENGINES; do
  log "[$ENGINE] seeding $ROWS log rows created 40 days ago"
  started=$(date +%s)
  if [[ $ENGINE == sqlite ]]; then
    seed_sqlite "$TMP/seed.db"
    log "[$ENGINE] seeded in $(( $(date +%s) - started )) s; pages (total free): $(pages "$TMP/seed.db")"
  else
    SEED=crm_retention_seed_$$
    pg_create "$SEED"
    seed_postgres "$SEED"
    log "[$ENGINE] seeded in $(( $(date +%s) - started )) s"
  fi
  TABLE=$TMP/$ENGINE.table
  printf '%-8s %-7s %10s %9s %9s %8s %12s %7s\n' round run req/s p50_ms p99_ms non2xx purged_rows ratio >"$TABLE"
  for round in $(seq 1 "$ROUNDS"); do
    KEEP_RPS=""
    for mode in keep purge; do
      retention=0; [[ $mode == purge ]] && retention=30d
      if [[ $ENGINE == sqlite ]]; then
        rm -f "$TMP"/run.db*
        cp "$TMP/seed.db" "$TMP/run.db"
        URL=sqlite://$TMP/run.db
      else
        RUN=crm_retention_run_$$
        pg_admin -c "drop database if exists $RUN with (force)"
        pg_create "$RUN" "$SEED"
        URL=$PG/$RUN
      fi
      start_server "$URL" CRM_LOG_RETENTION="$retention"
      server_started=$(date +%s)
      run_wrk "$TMP/warmup.txt" "$WARMUP" "$BASE" "$TMP/manifest"
      run_wrk "$TMP/$mode.txt" "$DURATION" "$BASE" "$TMP/manifest"
      rows=$(purged)
      parse_result "$TMP/$mode.txt"
      [[ $mode == keep ]] && KEEP_RPS=${R[rps]}
      ratio=$(awk -v a="${R[rps]}" -v b="$KEEP_RPS" 'BEGIN { printf "%.3f", a / b }')
      printf '%-8s %-7s %10.0f %9.2f %9.2f %8d %12d %7s\n' "$round" "$mode" "${R[rps]}" \
        "$(awk -v v="${R[p50_us]}" 'BEGIN{print v/1000}')" "$(awk -v v="${R[p99_us]}" 'BEGIN{print v/1000}')" \
        "${R[non2xx]}" "$rows" "$ratio" >>"$TABLE"
      log "[$ENGINE] round $round $mode: ${R[rps]} req/s, non-2xx ${R[non2xx]}, purged so far $rows"
      if [[ $mode == purge && $round == "$ROUNDS" ]]; then
        (( rows < ROWS )) || log "[$ENGINE] warning: the purge had finished before the measured run ended"
        log "[$ENGINE] waiting for the purge of $ROWS rows to finish"
        until (( $(purged) >= ROWS )); do sleep 1; done
        log "[$ENGINE] all $ROWS rows purged $(( $(date +%s) - server_started )) s after the server started"
        if [[ $ENGINE == sqlite ]]; then
          log "[$ENGINE] pages after the purge (total free): $(pages "$TMP/run.db")"
          run_wrk "$TMP/after.txt" "$DURATION" "$BASE" "$TMP/manifest"
          parse_result "$TMP/after.txt"
          log "[$ENGINE] ingest after the purge: ${R[rps]} req/s, ${R[ok]} rows more; pages (total free): $(pages "$TMP/run.db")"
          backup_started=$(date +%s%N)
          CRM_DATABASE_URL=sqlite://$TMP/run.db "$BIN" backup "$TMP/copy.db" >/dev/null
          log "[$ENGINE] crm-webhooks backup of the live file took $(( ($(date +%s%N) - backup_started) / 1000000 )) ms: $(stat -c %s "$TMP/run.db") bytes in the file, $(stat -c %s "$TMP/copy.db") in the compacted copy"
          rm -f "$TMP/copy.db"
        fi
      fi
      stop_server
    done
  done
  overall=$(awk '$2 == "keep" { k += $3 } $2 == "purge" { p += $3 } END {
    printf "all rounds: purge req/s / keep req/s = %.3f", p / k }' "$TABLE")
  echo "$overall" >>"$TABLE"
  log "[$ENGINE] table"
  cat "$TABLE"
done
log "done; uptime:$(uptime)"
