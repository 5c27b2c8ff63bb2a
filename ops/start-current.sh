#!/usr/bin/env bash
# Runs this checkout's `org serve` on ${ORG_CURRENT_PORT:-7001} in the window "current" of the tmux session
# ${ORG_TMUX_SESSION:-org}, and returns once /health answers with HEAD's commit (or says why not).
# Safe to run twice. After a promotion or rollback it makes the running server take the new commit:
# without a restart when only tools/generated/ changed, with one otherwise. The logic is `org instance`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" instance start current "$@"
