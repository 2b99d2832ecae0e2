#!/usr/bin/env bash
# Outgoing webhooks checked by an independent receiver: every delivery verified with the PyPI
# `standardwebhooks` package, across a secret rotation.
#
#   scripts/standardwebhooks_receiver.sh [--leads N]
#
# Makes the virtualenv and the release binary as scripts/standardwebhooks_env.sh says (CRM_BIN
# names a built one) and runs scripts/standardwebhooks_receiver.py, which starts the server and
# the receiver on 127.0.0.1 and stops both. Exits non-zero when any check fails. Bounded:
# RECEIVER_TIMEOUT seconds (default 600) for the checks.
set -euo pipefail
# shellcheck source=scripts/standardwebhooks_env.sh
source "$(dirname "$0")/standardwebhooks_env.sh"
run_checks "${RECEIVER_TIMEOUT:-600}" standardwebhooks_receiver.py "$@"
