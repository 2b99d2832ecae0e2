# Sourced by scripts/standardwebhooks_*.sh: the virtualenv with the PyPI `standardwebhooks`
# package (INTEROP_VENV, default <repo>/.venv-standardwebhooks, git-ignored, made once and shared)
# and the release binary (CRM_BIN, else built), then `run_checks SECONDS SCRIPT [ARGS…]` runs
# scripts/SCRIPT with that Python and `--bin "$CRM_BIN"`, ended after SECONDS.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${INTEROP_VENV:-$ROOT/.venv-standardwebhooks}"
REQUIREMENT="standardwebhooks>=1.1,<2"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  echo "== installing $REQUIREMENT into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$REQUIREMENT"
fi

if [[ -z "${CRM_BIN:-}" ]]; then
  echo "== cargo build --release --bin crm-webhooks" >&2
  cargo build --release --bin crm-webhooks
  CRM_BIN="$ROOT/target/release/crm-webhooks"
fi

run_checks() { # seconds script [args…]
  local seconds=$1 script=$2
  shift 2
  exec timeout --kill-after=10 "$seconds" "$VENV/bin/python" "$ROOT/scripts/$script" --bin "$CRM_BIN" "$@"
}
