#!/usr/bin/env bash
# Property-based API test of the running service against its own OpenAPI document.
#
#   scripts/schemathesis.sh            # build, start, test, stop
#
# Installs schemathesis from PyPI into .venv-schemathesis (git-ignored), builds the release binary,
# starts it on 127.0.0.1 with a temporary SQLite database, no webhook secret (so generated requests
# are not all 401), no admin token and no rate limit, waits for /healthz, and runs schemathesis
# with the checks `not_a_server_error` (no 5xx) and `response_schema_conformance`.
# Exits non-zero when schemathesis reports any failure or error; the server is always stopped.
#
# Settings (environment):
#   MAX_EXAMPLES      test cases per operation and phase (default 50)
#   ST_TIMEOUT        hard limit in seconds for the schemathesis run (default 1200)
#   ST_SEED           random seed, for a reproducible run (default: schemathesis picks one)
#   ST_WORKERS        concurrent workers (default 1: with more, schemathesis 4.32 on CPython 3.11
#                     can die in its own code with "SystemError: AST constructor recursion depth
#                     mismatch", a thread-safety bug of ast.parse, reported as a Runtime Error)
#   ST_EXTRA_ARGS     more arguments for `schemathesis run`, word-split (e.g. "--mode positive")
#   ST_UNIQUE_KEYS    1 (default): load scripts/schemathesis_hooks.py, which makes every valid
#                     idempotency key unique per request (see that file); 0: send them as generated
#   CRM_BIN           a built binary to use instead of `cargo build --release`
#   ST_DATABASE_URL   the database to run against instead of a temporary SQLite file: an empty one,
#                     e.g. a PostgreSQL database made for the run (`createdb -h 127.0.0.1 -U postgres st`
#                     → ST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/st); it is not emptied
#   ST_VENV           the virtualenv (default: <repo>/.venv-schemathesis)
#   ST_REPORT_DIR     where to keep the reports and the server log (default: a temporary directory,
#                     kept and printed when the run fails)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

MAX_EXAMPLES="${MAX_EXAMPLES:-50}"
ST_TIMEOUT="${ST_TIMEOUT:-1200}"
ST_WORKERS="${ST_WORKERS:-1}"
VENV="${ST_VENV:-$ROOT/.venv-schemathesis}"
SCHEMATHESIS_REQUIREMENT="schemathesis>=4.32,<5"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/crm-schemathesis.XXXXXX")"
REPORT_DIR="${ST_REPORT_DIR:-$WORK/report}"
mkdir -p "$REPORT_DIR"
SERVER_PID=""
KEEP_WORK=0

cleanup() {
  local status=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 || $KEEP_WORK -eq 1 ]]; then
    echo "schemathesis.sh: reports and server log kept in $WORK (report dir: $REPORT_DIR)" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# 1. schemathesis in its own virtualenv.
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  log "installing $SCHEMATHESIS_REQUIREMENT into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$SCHEMATHESIS_REQUIREMENT"
fi
log "$("$VENV/bin/schemathesis" --version)"

# 2. The release binary.
if [[ -z "${CRM_BIN:-}" ]]; then
  log "cargo build --release --bin crm-webhooks"
  cargo build --release --bin crm-webhooks
  CRM_BIN="$ROOT/target/release/crm-webhooks"
fi

# 3. Start the server on a free loopback port with a fresh database.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
DATABASE_URL="${ST_DATABASE_URL:-sqlite://$WORK/crm.db}"
log "starting $CRM_BIN on $BASE (database ${DATABASE_URL##*@})"
env -u CRM_WEBHOOK_SECRET -u CRM_ADMIN_TOKEN -u CRM_SIGN_SECRET \
  CRM_BIND="127.0.0.1:$PORT" \
  CRM_DATABASE_URL="$DATABASE_URL" \
  CRM_RATE_LIMIT_PER_MINUTE=0 \
  CRM_TRUST_FORWARDED_FOR=false \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$CRM_BIN" serve >"$REPORT_DIR/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do   # at most 30 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the server exited during start-up:" >&2
    cat "$REPORT_DIR/server.log" >&2
    exit 1
  fi
  if curl -fsS --max-time 2 "$BASE/healthz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [[ $ready -ne 1 ]]; then
  echo "schemathesis.sh: $BASE/healthz did not answer within 30 s" >&2
  exit 1
fi
curl -fsS --max-time 10 "$BASE/openapi.json" -o "$REPORT_DIR/openapi.json"
log "server ready; OpenAPI document saved to $REPORT_DIR/openapi.json"

# 4. Run schemathesis.
args=(
  run "$BASE/openapi.json"
  --checks not_a_server_error,response_schema_conformance
  --max-examples "$MAX_EXAMPLES"
  --workers "$ST_WORKERS"
  --request-timeout 10
  --no-color
  --report junit,har,json
  --report-dir "$REPORT_DIR"
  --generation-database none
)
if [[ -n "${ST_SEED:-}" ]]; then args+=(--seed "$ST_SEED"); fi
# shellcheck disable=SC2206
if [[ -n "${ST_EXTRA_ARGS:-}" ]]; then args+=($ST_EXTRA_ARGS); fi

if [[ "${ST_UNIQUE_KEYS:-1}" == "1" ]]; then export SCHEMATHESIS_HOOKS="$ROOT/scripts/schemathesis_hooks.py"; fi

log "schemathesis ${args[*]}"
set +e
# Run from the temporary directory: schemathesis keeps a `.schemathesis/` cache in its working directory.
(cd "$WORK" && timeout --kill-after=10 "$ST_TIMEOUT" "$VENV/bin/schemathesis" "${args[@]}") 2>&1 | tee "$REPORT_DIR/schemathesis.txt"
st_status=${PIPESTATUS[0]}
set -e
if [[ $st_status -eq 124 || $st_status -eq 137 ]]; then
  echo "schemathesis.sh: schemathesis did not finish within ${ST_TIMEOUT}s" >&2
fi

# 5. Summary: generated cases, and every 5xx with the request that caused it (from the HAR file).
python3 - "$REPORT_DIR" <<'PY' || true
import glob, json, re, sys, pathlib
report = pathlib.Path(sys.argv[1])
text = (report / "schemathesis.txt").read_text(errors="replace")
counts = re.findall(r"Test cases:\s*(.*)", text)
print("\n== summary")
print("generated test cases: " + (counts[-1].strip() if counts else "(no 'Test cases' line; see schemathesis.txt)"))
for har in sorted(glob.glob(str(report / "har-*.json")) + glob.glob(str(report / "*.har"))):
    try:
        entries = json.load(open(har))["log"]["entries"]
    except Exception as err:  # a run cut short may leave no valid HAR
        print(f"could not read {har}: {err}")
        continue
    statuses = {}
    for e in entries:
        statuses[e["response"]["status"]] = statuses.get(e["response"]["status"], 0) + 1
    print(f"HTTP requests sent: {len(entries)}; by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    details = {}
    for e in entries:
        if 400 <= e["response"]["status"] < 500:
            try:
                detail = json.loads(e["response"].get("content", {}).get("text", "") or "{}").get("detail", "")
            except ValueError:
                detail = "(not JSON)"
            key = (e["response"]["status"], re.sub(r"\d+", "N", str(detail))[:100])
            details[key] = details.get(key, 0) + 1
    if details:
        print("most frequent 4xx answers:")
        for (status, detail), n in sorted(details.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {n:6d}  {status}  {detail}")
    errors = [e for e in entries if e["response"]["status"] >= 500]
    seen = set()
    for e in errors:
        req = e["request"]
        body = (req.get("postData") or {}).get("text", "")
        key = (req["method"], req["url"], body)
        if key in seen:
            continue
        seen.add(key)
        headers = {h["name"]: h["value"] for h in req.get("headers", []) if h["name"].lower() not in ("user-agent", "accept-encoding", "accept", "connection", "x-schemathesis-testcaseid")}
        print(f"\n5xx {e['response']['status']}: {req['method']} {req['url']}")
        print(f"  headers: {json.dumps(headers)}")
        print(f"  body: {body[:2000]!r}")
        print(f"  response: {e['response'].get('content', {}).get('text', '')[:500]!r}")
    if errors:
        print(f"\n{len(errors)} responses were 5xx ({len(seen)} distinct requests)")
PY

if grep -qiE 'panicked|internal error' "$REPORT_DIR/server.log"; then
  echo "== server log lines about panics or internal errors:" >&2
  grep -iE -A3 'panicked|internal error' "$REPORT_DIR/server.log" | head -60 >&2
fi

if [[ $st_status -ne 0 ]]; then
  KEEP_WORK=1
  echo "schemathesis.sh: FAILED (schemathesis exit code $st_status)" >&2
  exit 1
fi
echo "schemathesis.sh: passed"
