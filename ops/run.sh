#!/usr/bin/env bash
# Starts the org chat room in a tmux session (default "org"; ORG_TMUX_SESSION overrides).
# Safe to run twice: a second run only says where the running room is. Arguments go to `chat`,
# e.g. ops/run.sh --config org.config.json --mode direct:python
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tmux-session.sh
. "$root/ops/tmux-session.sh"
# shellcheck source=org-window.sh
. "$root/ops/org-window.sh"
org="$root/bin/org"

if ! command -v tmux >/dev/null 2>&1; then
  echo "run.sh: tmux is not installed. Install it (Debian/Ubuntu: apt-get install tmux) or run the room without it: $(printf '%q' "$org") chat" >&2
  exit 1
fi

# The stop command ends only the room's window: the served instances (ops/start-current.sh) may share the
# session, and stopping the room must not stop them. It names the session when it is not the default.
stop_command="$(printf '%q' "$root/ops/stop.sh") chat"
if [ "$session" != org ]; then
  stop_command="ORG_TMUX_SESSION=$(printf '%q' "$session") $stop_command"
fi

attach_hint() {
  echo "  attach:  tmux attach -t $(printf '%q' "$session")    (detach again with Ctrl-b d)"
  echo "  stop:    $stop_command"
}

# The session may hold only the served instances (ops/start-current.sh): then the room gets a window beside them.
if tmux has-session -t "=$session" 2>/dev/null; then
  if tmux list-windows -t "=$session" -F '#{window_name}' | grep -qx chat; then
    echo "org is already running in tmux session '$session'; nothing started."
    attach_hint
    exit 0
  fi
fi

if [ ! -x "$root/node_modules/.bin/bun" ] && ! command -v bun >/dev/null 2>&1; then
  echo "run.sh: bun is not installed. Run 'npm install' in $root (it brings bun), then try again." >&2
  exit 1
fi

open_org_window chat 120 org "$org" chat "$@"
echo "started org in tmux session '$session' (org chat${*:+ $*}, workspace $PWD)."
attach_hint
