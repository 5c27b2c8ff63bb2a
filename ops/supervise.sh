#!/usr/bin/env bash
# Runs `org supervise` (a round of checks now, then every supervise.every, default 60s) in the window "supervise" of the
# tmux session (default "org"; ORG_TMUX_SESSION overrides), for the workspace it is started in. Safe to run twice: a
# second run only says where the running one is. Arguments go to `org supervise`, e.g. ops/supervise.sh --repo DIR
# Stop it with ops/stop.sh supervise. What it found and did: bin/org supervise status.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tmux-session.sh
. "$root/ops/tmux-session.sh"
# shellcheck source=org-window.sh
. "$root/ops/org-window.sh"
org="$root/bin/org"

# The supervisor watches the instances of this session: it is told which (windows get no ORG_TMUX_SESSION of their own).
start_org_loop supervise supervise.sh env "ORG_TMUX_SESSION=$session" "$org" supervise "$@"
echo "started org supervise in window 'supervise' of tmux session '$session' (org supervise${*:+ $*}, workspace $PWD): a round now, then every supervise.every."
echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
echo "  status:  $(printf '%q' "$org") supervise status"
