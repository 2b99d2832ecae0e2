#!/usr/bin/env bash
# Interop check of our Standard Webhooks verification with the PyPI `standardwebhooks` package.
#
#   scripts/standardwebhooks_interop.sh
#
# Makes a virtualenv (default <repo>/.venv-standardwebhooks, git-ignored), installs
# standardwebhooks into it, builds the release binary (unless CRM_BIN names one) and runs
# scripts/standardwebhooks_interop.py, which starts and stops the server on 127.0.0.1 itself.
# Exits non-zero when any check fails. Bounded: INTEROP_TIMEOUT seconds (default 300) for the checks.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
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

exec timeout --kill-after=10 "${INTEROP_TIMEOUT:-300}" \
  "$VENV/bin/python" "$ROOT/scripts/standardwebhooks_interop.py" --bin "$CRM_BIN"
