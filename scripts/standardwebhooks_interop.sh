#!/usr/bin/env bash
# Interop check of our Standard Webhooks verification with the PyPI `standardwebhooks` package.
#
#   scripts/standardwebhooks_interop.sh
#
# Makes the virtualenv and the release binary as scripts/standardwebhooks_env.sh says (CRM_BIN
# names a built one) and runs scripts/standardwebhooks_interop.py, which starts and stops the
# server on 127.0.0.1 itself. Exits non-zero when any check fails. Bounded: INTEROP_TIMEOUT
# seconds (default 300) for the checks.
set -euo pipefail
# shellcheck source=scripts/standardwebhooks_env.sh
source "$(dirname "$0")/standardwebhooks_env.sh"
run_checks "${INTEROP_TIMEOUT:-300}" standardwebhooks_interop.py
