#!/usr/bin/env bash
# Where the CPU goes under the create_lead load: starts the release binary on a fresh database,
# loads it with wrk (signed copies of the full new_lead example, as bench/run.sh does) and records every CPU of
# the machine with `perf record -a`, then prints the share of each thread kind (server threads,
# PostgreSQL backends, wrk, idle) and the server's hottest functions.
#
#   bench/profile.sh                 # SQLite
#   PROFILE_ENGINE=postgres bench/profile.sh
#
# Needs perf (Debian: linux-perf) and wrk. Uses target/release/crm-webhooks as built
# (run `cargo build --release` or bench/run.sh first; PROFILE_BIN or BENCH_BIN: another build).
# PostgreSQL as for the other scripts (bench/lib.sh: BENCH_PG_URL, BENCH_PG_ADMIN_DB). Timings
# under perf run a little lower than without it; read the shares, not the req/s.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BIN=${PROFILE_BIN:-$BIN}
ENGINE=${PROFILE_ENGINE:-sqlite}
SECONDS_LOADED=${PROFILE_SECONDS:-8}
PATH_CREATE=/api/v1/webhooks/incoming/lead/create

command -v perf >/dev/null || die "perf is not installed (apt-get install linux-perf)"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[[ -x $BIN ]] || die "build the release binary first: cargo build --release"

make_tmp profile
new_database profile "$ENGINE"
start_server "$DB_URL"

# Signed copies of the API document's full new_lead example, as bench/run.sh sends them: other
# people for the warm-up, so that the loaded run matches no earlier copy as a possible duplicate
python3 "$ROOT/bench/lead_bodies.py" "$ROOT/docs/examples/new_lead.request.json" "$SECRET" 100000 "$TMP/bodies" \
  "$PATH_CREATE" >"$TMP/manifest"
python3 "$ROOT/bench/lead_bodies.py" "$ROOT/docs/examples/new_lead.request.json" "$SECRET" 20000 "$TMP/bodies" \
  "$PATH_CREATE" 100001 >"$TMP/warmup.manifest"

URL=$BASE$PATH_CREATE
run_wrk "$TMP/warmup.txt" 2s "$URL" "$TMP/warmup.manifest"
# perf starts once wrk's threads have read their bodies and send (see bench/wrk.lua)
WRK_READY_AT=$TMP/wrk.ready run_wrk "$TMP/loaded.txt" "$((SECONDS_LOADED + 1))s" "$URL" "$TMP/manifest" &
WRK_PID=$!
for ((i = 0; i < 600; i++)); do [[ -e $TMP/wrk.ready ]] && break; sleep 0.1; done
[[ -e $TMP/wrk.ready ]] || die "wrk did not start sending within 60 s"
perf record -a -g -F 499 -o "$TMP/perf.data" -- sleep "$SECONDS_LOADED" >/dev/null 2>&1
wait "$WRK_PID"
parse_result "$TMP/loaded.txt"
echo "under perf: rps=${R[rps]} p50_us=${R[p50_us]} p90_us=${R[p90_us]} p99_us=${R[p99_us]}"
# The first N rows of a perf report (its comments and blank lines left out). It reads the whole
# report: a reader that stopped early would end perf with SIGPIPE, and the script with it.
report_rows() { awk -v n="$1" '!/^#/ && !/^$/ && shown < n { print; shown++ }'; }

# The backends of this benchmark's database (perf -a also records any other work on the machine)
OURS=$SERVER_PID
if [[ $ENGINE == postgres ]]; then
  OURS+=,$(pg_admin -c "select string_agg(pid::text, ',') from pg_stat_activity where datname = '$PG_DB'")
fi

if [[ $ENGINE == postgres ]]; then
  # Backends are processes of one thread each: their pid is their thread id
  echo "== CPU samples of this database's PostgreSQL backends (other databases' backends also count as postgres below)"
  perf report -i "$TMP/perf.data" --no-children --sort pid -g none 2>/dev/null | report_rows 1000000 |
    awk -v ours=",$OURS," '{ pct = $1; sub(/%/, "", pct); split($2, f, ":"); if (index(ours, "," (f[1] + 0) ",")) total += pct }
      END { printf "  PostgreSQL backends of %s: %.1f%%\n", db, total }' db="$PG_DB"
fi
echo "== CPU samples by thread kind ($ENGINE, all CPUs; swapper = idle)"
perf report -i "$TMP/perf.data" --no-children --sort comm -g none 2>/dev/null | report_rows 8
echo "== hottest functions in the server's threads"
perf report -i "$TMP/perf.data" --no-children --comms tokio-rt-worker,sqlite-writer,sqlite-checkpoi --sort comm,sym -g none 2>/dev/null |
  report_rows 25 | cut -c1-140
