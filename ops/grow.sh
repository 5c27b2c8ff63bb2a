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

if ! command -v tmux >/dev/null 2>&1; then
  echo "grow.sh: tmux is not installed. Install it (Debian/Ubuntu: apt-get install tmux) or run it without: $(printf '%q' "$org") grow" >&2
  exit 1
fi
if [ ! -x "$root/node_modules/.bin/bun" ] && ! command -v bun >/dev/null 2>&1; then
  echo "grow.sh: bun is not installed. Run 'npm install' in $root (it brings bun), then try again." >&2
  exit 1
fi

stop_command="$(printf '%q' "$root/ops/stop.sh") grow"
if [ "$session" != org ]; then
  stop_command="ORG_TMUX_SESSION=$(printf '%q' "$session") $stop_command"
fi

if tmux has-session -t "=$session" 2>/dev/null; then
  if tmux list-windows -t "=$session" -F '#{window_name}' | grep -qx grow; then
    echo "org grow is already running in window 'grow' of tmux session '$session'; nothing started."
    echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
    exit 0
  fi
fi

open_org_window grow 160 "org grow" "$org" grow "$@"
echo "started org grow in window 'grow' of tmux session '$session' (org grow${*:+ $*}, workspace $PWD): a run now, then every grow.every."
echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
echo "  status:  $(printf '%q' "$org") grow status"
