#!/usr/bin/env bash
# Runs `org grow` (a run now, then every grow.every, default 1h) in the window "grow" of the tmux session (default
# "org"; ORG_TMUX_SESSION overrides), for the workspace it is started in. Safe to run twice: a second run only says
# where the running one is. Arguments go to `org grow`, e.g. ops/grow.sh --max-tools 2 --budget-minutes 20
# Stop it with ops/stop.sh grow. Each run's report is .org/grow/<UTC time>.json of the workspace.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tmux-session.sh
. "$root/ops/tmux-session.sh"
# shellcheck source=org-window.sh
. "$root/ops/org-window.sh"
org="$root/bin/org"

start_org_loop grow grow.sh "$org" grow "$@"
echo "started org grow in window 'grow' of tmux session '$session' (org grow${*:+ $*}, workspace $PWD): a run now, then every grow.every."
echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
echo "  status:  $(printf '%q' "$org") grow status"
