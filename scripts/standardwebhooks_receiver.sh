#!/usr/bin/env bash
# Outgoing webhooks checked by an independent receiver: every delivery verified with the PyPI
# `standardwebhooks` package, across a secret rotation.
#
#   scripts/standardwebhooks_receiver.sh [--leads N]
#
# Makes a virtualenv (default <repo>/.venv-standardwebhooks, git-ignored, shared with
# standardwebhooks_interop.sh), installs standardwebhooks into it, builds the release binary
# (unless CRM_BIN names one) and runs scripts/standardwebhooks_receiver.py, which starts the server
# and the receiver on 127.0.0.1 and stops both. Exits non-zero when any check fails.
# Bounded: RECEIVER_TIMEOUT seconds (default 600) for the checks.
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

exec timeout --kill-after=10 "${RECEIVER_TIMEOUT:-600}" \
  "$VENV/bin/python" "$ROOT/scripts/standardwebhooks_receiver.py" --bin "$CRM_BIN" "$@"
