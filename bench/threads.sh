#!/usr/bin/env bash
# CPU time per create_lead by thread kind, read from /proc: where a request's CPU goes when the
# 2 cores are shared by the server's threads, the database, the receiver and wrk, without a
# profiler's overhead. Runs create_lead as bench/run.sh does (signed copies of the full new_lead
# example, people never sent before), once with no subscription and once with one subscription to
# a local receiver (nginx answering 200), on a fresh database of the chosen engine.
#
#   bench/threads.sh
#   BENCH_ENGINE=postgres BENCH_DURATION=8s bench/threads.sh
#
# For each run it prints req/s, attempts/s, and µs of CPU per created lead (and, for the
# subscribed run, per delivery attempt beyond the plain run) of:
#   sqlite-writer, sqlite-checkpoi   the SQLite writer and checkpoint threads
#   tokio-rt-worker                   requests, the delivery worker and its HTTP calls
#   sqlx-sqlite-wor                   the SQLite read pool
#   postgres                          the backends of this benchmark's database
#   nginx                             the receiver
#   wrk                               the load generator
#   other                             the rest of the machine's busy time (interrupts, kernel
#                                     threads, anything else running)
# The window is the loaded run only: it starts once every wrk thread has read its bodies and ends
# half a second before wrk stops; requests and attempts in it come from the server's /metrics.
# Uses target/release/crm-webhooks as built (BENCH_BIN: another build). Needs wrk and nginx.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/nginx_receiver.sh
source "$ROOT/bench/nginx_receiver.sh"
ENGINE=${BENCH_ENGINE:-sqlite}
SECONDS_LOADED=$(seconds_of "${BENCH_DURATION:-8s}")
PATH_CREATE=/api/v1/webhooks/incoming/lead/create
TICK=$(getconf CLK_TCK)

command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[[ -x $BIN ]] || die "build the release binary first: cargo build --release"
((SECONDS_LOADED >= 3)) || die "BENCH_DURATION must be at least 3s"

make_tmp threads
new_database threads "$ENGINE"
start_server "$DB_URL" CRM_DELIVERY_ALLOW_PRIVATE=true

example=$ROOT/docs/examples/new_lead.request.json
python3 "$ROOT/bench/lead_bodies.py" "$example" "$SECRET" 100000 "$TMP/bodies" "$PATH_CREATE" >"$TMP/plain.manifest"
python3 "$ROOT/bench/lead_bodies.py" "$example" "$SECRET" 100000 "$TMP/bodies" "$PATH_CREATE" 100001 \
  >"$TMP/subscribed.manifest"
python3 "$ROOT/bench/lead_bodies.py" "$example" "$SECRET" 20000 "$TMP/bodies" "$PATH_CREATE" 200001 \
  >"$TMP/warmup.manifest"
URL=$BASE$PATH_CREATE

# "kind id ticks" of the thread or process whose /proc directory is $2; kind is $1, or its name
# when $1 is empty. Nothing when it has exited meanwhile.
used() {
  local kind=${1:-$(cat "$2/comm" 2>/dev/null)}
  awk -v kind="$kind" -v id="${2##*/}" '{ print kind, id, $14 + $15 }' "$2/stat" 2>/dev/null || true
}

# "kind id ticks" lines: every thread of the server, the backends of this database, the
# receiver's workers, wrk, and the machine's busy time (user, nice, system, irq, softirq, steal).
ticks() {
  local task pid
  for task in /proc/"$SERVER_PID"/task/*; do used "" "$task"; done
  if [[ $ENGINE == postgres ]]; then
    for pid in $(pgrep -f "postgres: .* $PG_DB " || true); do used postgres "/proc/$pid"; done
  fi
  for pid in ${RECEIVER_PID:+$(pgrep -P "$RECEIVER_PID" || true)} $(pgrep -x wrk || true); do
    used "" "/proc/$pid"
  done
  awk '/^cpu / { print "ALL", 0, $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# "creates attempts" counted by the server so far
counts() {
  curl -fsS "$BASE/metrics" | awk -v route="$PATH_CREATE" '
    index($0, "crm_http_requests_total{route=\"" route "\"") == 1 && $0 ~ /status="2/ { c += $2 }
    /^crm_outgoing_attempts_total/ { a += $2 }
    END { printf "%d %d\n", c, a }'
}

declare -A PER_CREATE=() COUNTED=()
# measure NAME MANIFEST: the loaded window of one wrk run, printed per create
measure() {
  local name=$1 manifest=$2 c0 a0 c1 a1 t0 t1 creates attempts
  run_wrk "$TMP/$name.warmup.txt" 2s "$URL" "$TMP/warmup.manifest"
  WRK_READY_AT=$TMP/$name.ready run_wrk "$TMP/$name.txt" "${SECONDS_LOADED}s" "$URL" "$manifest" &
  local wrk_job=$!
  for ((i = 0; i < 600; i++)); do [[ -e $TMP/$name.ready ]] && break; sleep 0.1; done
  [[ -e $TMP/$name.ready ]] || die "wrk did not start sending within 60 s"
  t0=$(date +%s.%N)
  ticks >"$TMP/$name.a"
  read -r c0 a0 < <(counts)
  sleep "$(awk -v s="$SECONDS_LOADED" 'BEGIN { print s - 0.5 }')"
  ticks >"$TMP/$name.b"
  read -r c1 a1 < <(counts)
  t1=$(date +%s.%N)
  wait "$wrk_job"
  parse_result "$TMP/$name.txt"
  ((R[non2xx] == 0)) || die "$name: ${R[non2xx]} non-2xx answers"
  creates=$((c1 - c0)) attempts=$((a1 - a0))
  ((creates > 0)) || die "$name: no create counted in the window"
  printf '%s: %s req/s (wrk), %d creates and %d delivery attempts in the %.1f s window, p99 %.1f ms\n' \
    "$name" "${R[rps]}" "$creates" "$attempts" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    "$(awk -v u="${R[p99_us]}" 'BEGIN { print u / 1000 }')"
  # A thread or process counts only if it was there at both ends of the window (a backend
  # that connected or left in between is left out, and so goes to "other").
  awk -v n="$creates" -v tick="$TICK" '
    NR == FNR { a[$1 " " $2] = $3; next }
    ($1 " " $2) in a { d = $3 - a[$1 " " $2]; if ($1 == "ALL") all = d; else { per[$1] += d; known += d } }
    END {
      for (k in per) if (per[k] != 0) printf "%s %.1f\n", k, per[k] * 1e6 / tick / n
      printf "other %.1f\n", (all - known) * 1e6 / tick / n
    }' "$TMP/$name.a" "$TMP/$name.b" | sort -k2 -nr >"$TMP/$name.per_create"
  while read -r kind us; do
    PER_CREATE[$name.$kind]=$us
    printf '  %-18s %8.1f µs per create\n' "$kind" "$us"
  done <"$TMP/$name.per_create"
  COUNTED[$name.creates]=$creates COUNTED[$name.attempts]=$attempts
}

measure plain "$TMP/plain.manifest"
nginx_receiver_start "$TMP/receiver"
out=$(curl -sS -X POST "$BASE/api/v1/webhooks/subscriptions" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "{\"url\":\"$RECEIVER_URL\",\"description\":\"bench\"}")
[[ $(sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p' <<<"$out") =~ ^[0-9]+$ ]] || die "could not create the subscription: $out"
measure subscribed "$TMP/subscribed.manifest"

# What a delivery attempt adds: (subscribed - plain) per create, times creates per attempt.
if ((COUNTED[subscribed.attempts] > 0)); then
  echo "per delivery attempt (subscribed minus plain, per create, × ${COUNTED[subscribed.creates]} creates ÷ ${COUNTED[subscribed.attempts]} attempts):"
  for kind in $(cut -d' ' -f1 "$TMP/subscribed.per_create"); do
    awk -v s="${PER_CREATE[subscribed.$kind]:-0}" -v p="${PER_CREATE[plain.$kind]:-0}" \
      -v c="${COUNTED[subscribed.creates]}" -v a="${COUNTED[subscribed.attempts]}" -v k="$kind" \
      'BEGIN { printf "  %-18s %8.1f µs per attempt\n", k, (s - p) * c / a }'
  done
fi
