#!/usr/bin/env bash
# Stops org in the tmux session (default "org"; ORG_TMUX_SESSION overrides). Safe to run twice.
#   ops/stop.sh            the served instances (SIGTERM first, so running turns can finish), then the whole session
#   ops/stop.sh current    only the current instance's window;  ops/stop.sh candidate: only the candidate's
#   ops/stop.sh chat       only the room's window (ops/run.sh), leaving the instances beside it running
#   ops/stop.sh grow       only org grow's window (ops/grow.sh)
#   ops/stop.sh supervise  only org supervise's window (ops/supervise.sh)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tmux-session.sh
. "$root/ops/tmux-session.sh"
what="${1:-all}"

case "$what" in
  all | current | candidate | chat | grow | supervise) ;;
  *)
    echo "stop.sh: '$what' is not something to stop; give current, candidate, chat, grow, supervise or nothing (everything)." >&2
    exit 2
    ;;
esac

if ! command -v tmux >/dev/null 2>&1; then
  echo "stop.sh: tmux is not installed, so no org session can be running; nothing to stop."
  exit 0
fi

if [ "$what" = chat ]; then
  if tmux list-windows -t "=$session" -F '#{window_name}' 2>/dev/null | grep -qx chat; then
    tmux kill-window -t "=$session:=chat"
    echo "stopped the room: closed window 'chat' of tmux session '$session'. The conversation so far is in .org/sessions/ of its workspace."
  else
    echo "no room is running in tmux session '$session'; nothing to stop."
  fi
  exit 0
fi

# org grow and org supervise: SIGTERM first (a grow run cancels its build and leaves its proposals pending; the
# supervisor ends its round), then the window goes.
if [ "$what" = grow ] || [ "$what" = supervise ]; then
  if tmux list-windows -t "=$session" -F '#{window_name}' 2>/dev/null | grep -qx "$what"; then
    pane_pid="$(tmux list-panes -t "=$session:=$what" -F '#{pane_pid}' 2>/dev/null | head -n 1)"
    if [ -n "$pane_pid" ]; then pkill -TERM -P "$pane_pid" 2>/dev/null || true; fi
    for _ in $(seq 30); do
      pgrep -P "$pane_pid" >/dev/null 2>&1 || break
      sleep 0.1
    done
    tmux kill-window -t "=$session:=$what"
    if [ "$what" = grow ]; then
      echo "stopped org grow: closed window 'grow' of tmux session '$session'. Its reports are in .org/grow/ of its workspace."
    else
      echo "stopped org supervise: closed window 'supervise' of tmux session '$session'. What it found and did: .org/supervisor/ of its workspace (org supervise status)."
    fi
  else
    echo "org $what is not running in tmux session '$session'; nothing to stop."
  fi
  exit 0
fi

bun="$root/node_modules/.bin/bun"
[ -x "$bun" ] || bun="$(command -v bun || true)"

if [ "$what" != "all" ]; then
  if [ -z "$bun" ]; then
    echo "stop.sh: bun is not installed, so the $what instance cannot be stopped by itself; run 'npm install' in $root, or stop everything with ops/stop.sh." >&2
    exit 1
  fi
  exec "$root/bin/org" instance stop "$what"
fi

if tmux has-session -t "=$session" 2>/dev/null; then
  # Served instances get SIGTERM and a moment to finish their turns; killing the session would cut them off.
  if [ -n "$bun" ]; then "$root/bin/org" instance stop all >/dev/null || true; fi
  tmux kill-session -t "=$session" 2>/dev/null || true
  echo "stopped org: killed tmux session '$session'. The conversation so far is in .org/sessions/ of its workspace."
else
  echo "no tmux session '$session' is running; nothing to stop."
fi
