# shellcheck shell=bash disable=SC2034  # what it sets is read by the scripts that source it
# What the bench scripts share, sourced once ROOT (the repository) is set:
#
#   source "$ROOT/bench/lib.sh"
#
# It sets BIN (BENCH_BIN, else target/release/crm-webhooks), PG (BENCH_PG_URL, else
# postgres://postgres@127.0.0.1:5432), PG_ADMIN_DB (BENCH_PG_ADMIN_DB, else test), SECRET and
# TOKEN (the server's webhook secret and admin token), and traps: on exit `cleanup` stops the
# server and the nginx receiver, drops every database named in PG_DBS and removes TMP (kept with
# BENCH_KEEP_TMP=1); Ctrl-C and SIGTERM exit through it.
#
# What a script may set after sourcing, where it differs:
#   LOG_FD           where `log` writes: 1 (default), or 2 when stdout carries the tables
#   START_SECONDS    how long `start_server` waits for /healthz (default 60)
#   SERVER_LOG       the server's output (default $TMP/server.log, appended)
#   ON_UNCLEAN_STOP  what `stop_server` calls with its complaint when the server does not exit 0
#                    on SIGTERM within STOP_SECONDS (default 30): log (default), fail, or `:`
#   THREADS, CONNECTIONS, WRK_TIMEOUT  `run_wrk`'s -t, -c and --timeout (2, 64, 10s)

BIN=${BENCH_BIN:-$ROOT/target/release/crm-webhooks}
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_ADMIN_DB=${BENCH_PG_ADMIN_DB:-test}
SECRET=bench-secret
TOKEN=bench-admin
LOG_FD=1
START_SECONDS=60
STOP_SECONDS=30
ON_UNCLEAN_STOP=log
TMP=""
SERVER_PID=""
PG_DBS=()
FAILURES=0     # checks failed: `fail` counts them, `report_checks` exits 1 if any
REPORT=()      # lines `report_checks` prints at the end: `note`s and failed checks

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&"$LOG_FD"; }
die() { log "error: $*"; exit 1; }
fail() { FAILURES=$((FAILURES + 1)); log "CHECK FAILED: $*"; REPORT+=("CHECK FAILED: $*"); }
note() { REPORT+=("$*"); }
load_average() { uptime | sed 's/.*load average: */ /'; }
pg_admin() { psql -X -q -At -v ON_ERROR_STOP=1 "$PG/$PG_ADMIN_DB" "$@"; }
pg_create() { # name [template]: a new PostgreSQL database (a copy of TEMPLATE), dropped at exit
  pg_admin -c "create database $1${2:+ template $2}" >/dev/null
  PG_DBS+=("$1")
}
new_database() { # name engine -> DB_URL (and PG_DB on PostgreSQL): a new database under TMP or in PG
  if [[ $2 == postgres ]]; then
    PG_DB=crm_$1_$RANDOM
    pg_create "$PG_DB"
    DB_URL=$PG/$PG_DB
  else
    DB_URL=sqlite://$TMP/$1.db
  fi
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

make_tmp() { # name -> TMP, a fresh directory crm-NAME.XXXXXX under TMPDIR (else /tmp)
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/crm-$1.XXXXXX")
}

# shellcheck disable=SC2120  # the example is optional
build_release() { # [example]: cargo build --release (and that example), unless BENCH_SKIP_BUILD=1
  [[ ${BENCH_SKIP_BUILD:-0} != 1 ]] || return 0
  log "cargo build --release${*:+ (and the $* example)}"
  (cd "$ROOT" && cargo build --release --quiet && for example in "$@"; do cargo build --release --quiet --example "$example"; done)
}

seconds_of() { # 15s, 2m, 1h, 30 -> seconds
  local v=$1
  case $v in
    *ms) echo 1 ;;
    *s) echo "${v%s}" ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *h) echo $(( ${v%h} * 3600 )) ;;
    *) echo "$v" ;;
  esac
}

process_gone() { # true once $1 has exited (a zombie counts as exited)
  local state=""
  [[ -r /proc/$1/stat ]] || return 0
  read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 0
  [[ $state == Z ]]
}

# start_server DATABASE_URL [NAME=VALUE…]: BIN serves on a free port of 127.0.0.1 (PORT, BASE,
# SERVER_PID, and START_TENTHS: tenths of a second until /healthz answered) with SECRET, TOKEN,
# no rate limit and RUST_LOG=warn, the given settings on top; any other CRM_* variable of the
# environment reaches it too.
start_server() {
  local url=$1 i
  shift
  PORT=$(free_port)
  BASE=http://127.0.0.1:$PORT
  env CRM_BIND="127.0.0.1:$PORT" CRM_DATABASE_URL="$url" CRM_WEBHOOK_SECRET="$SECRET" CRM_ADMIN_TOKEN="$TOKEN" \
    CRM_RATE_LIMIT_PER_MINUTE=0 RUST_LOG=warn "$@" "$BIN" serve >>"${SERVER_LOG:-$TMP/server.log}" 2>&1 &
  SERVER_PID=$!
  for ((i = 1; i <= START_SECONDS * 10; i++)); do
    if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
      START_TENTHS=$i
      return 0
    fi
    if process_gone "$SERVER_PID"; then
      cat "${SERVER_LOG:-$TMP/server.log}" >&2
      die "the server exited at start"
    fi
    sleep 0.1
  done
  die "no /healthz within $START_SECONDS s"
}

# stop_server: SIGTERM, then the server must exit 0 within STOP_SECONDS (else it is killed);
# what went wrong goes to ON_UNCLEAN_STOP. STOP_RC: its exit code; STOP_TENTHS: tenths of a second
# until it exited.
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  local i
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 1; i <= STOP_SECONDS * 10; i++)); do process_gone "$SERVER_PID" && break; sleep 0.1; done
  STOP_TENTHS=$i
  if ! process_gone "$SERVER_PID"; then
    "$ON_UNCLEAN_STOP" "the server did not exit within ${STOP_SECONDS}s of SIGTERM (killed)"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  STOP_RC=0
  wait "$SERVER_PID" || STOP_RC=$?
  SERVER_PID=""
  [[ $STOP_RC -eq 0 ]] || "$ON_UNCLEAN_STOP" "the server exited with code $STOP_RC after SIGTERM"
}

db_value() { # database-url statement -> the first column of the first row (empty if none)
  if [[ $1 == sqlite://* ]]; then
    python3 - "${1#sqlite://}" "$2" <<'PY'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=30)
row = conn.execute(sys.argv[2]).fetchone()
conn.commit()
print(row[0] if row else "")
PY
  else
    psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2"
  fi
}

# run_wrk OUT DURATION URL MANIFEST [HEADER…]: wrk with bench/wrk.lua cycling through MANIFEST
# (`-` for a plain GET), its output in OUT, bounded by DURATION + 60 s; dies unless wrk printed
# its BENCH_RESULT line.
run_wrk() {
  local out=$1 duration=$2 url=$3 manifest=$4
  shift 4
  # No thread sends before every thread has read the manifest (see bench/wrk.lua)
  # (WRK_READY_AT names the file, for a caller that waits for it: bench/profile.sh)
  local ready=${WRK_READY_AT:-}
  [[ -n $ready ]] || ready=$(mktemp -u "${TMP:-/tmp}/wrk-ready.XXXXXX")
  WRK_READY=$ready WRK_THREADS=${THREADS:-2} \
  timeout -k 5 $(( $(seconds_of "$duration") + 60 )) wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-64}" -d"$duration" \
    --timeout "${WRK_TIMEOUT:-10s}" --latency -s "$ROOT/bench/wrk.lua" "$url" -- "$manifest" "$@" >"$out" 2>&1 || {
      cat "$out" >&2
      die "wrk failed for $url (see above)"
    }
  rm -f "$ready"
  grep -q '^BENCH_RESULT ' "$out" || { cat "$out" >&2; die "wrk printed no BENCH_RESULT line"; }
}

declare -A R=()
parse_result() { # wrk output -> R[rps], R[p50_us], R[ok], R[non2xx], … (the BENCH_RESULT line)
  local kv
  R=()
  for kv in $(grep '^BENCH_RESULT ' "$1" | head -1 | cut -d' ' -f2-); do
    R[${kv%%=*}]=${kv#*=}
  done
}

results_header() { # the banner before the results, with the load at the end
  echo
  echo "################ results ################"
  log "load at the end:$(load_average) (nproc=$(nproc))"
}

report_checks() { # the REPORT lines, then whether every check passed (else exit 1)
  local line
  for line in "${REPORT[@]}"; do echo "$line"; done
  if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}

release_all() { # the server, the nginx receiver (if started), every database of PG_DBS
  stop_server
  if declare -F nginx_receiver_stop >/dev/null; then nginx_receiver_stop; fi
  local db
  for db in "${PG_DBS[@]}"; do pg_admin -c "drop database if exists $db with (force)" >/dev/null 2>&1; done
  PG_DBS=()
}

cleanup() {
  set +e
  release_all
  [[ -n $TMP ]] || return 0
  if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
