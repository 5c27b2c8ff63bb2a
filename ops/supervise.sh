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

if ! command -v tmux >/dev/null 2>&1; then
  echo "supervise.sh: tmux is not installed. Install it (Debian/Ubuntu: apt-get install tmux) or run it without: $(printf '%q' "$org") supervise" >&2
  exit 1
fi
if [ ! -x "$root/node_modules/.bin/bun" ] && ! command -v bun >/dev/null 2>&1; then
  echo "supervise.sh: bun is not installed. Run 'npm install' in $root (it brings bun), then try again." >&2
  exit 1
fi

stop_command="$(printf '%q' "$root/ops/stop.sh") supervise"
if [ "$session" != org ]; then
  stop_command="ORG_TMUX_SESSION=$(printf '%q' "$session") $stop_command"
fi

if tmux has-session -t "=$session" 2>/dev/null; then
  if tmux list-windows -t "=$session" -F '#{window_name}' | grep -qx supervise; then
    echo "org supervise is already running in window 'supervise' of tmux session '$session'; nothing started."
    echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
    exit 0
  fi
fi

# The supervisor watches the instances of this session: it is told which (windows get no ORG_TMUX_SESSION of their own).
open_org_window supervise 160 "org supervise" env "ORG_TMUX_SESSION=$session" "$org" supervise "$@"
echo "started org supervise in window 'supervise' of tmux session '$session' (org supervise${*:+ $*}, workspace $PWD): a round now, then every supervise.every."
echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
echo "  status:  $(printf '%q' "$org") supervise status"
