#!/usr/bin/env bash
# Stops the org chat room's tmux session (default "org"; ORG_TMUX_SESSION overrides). Safe to run twice.
set -euo pipefail

session="${ORG_TMUX_SESSION:-org}"

if ! command -v tmux >/dev/null 2>&1; then
  echo "stop.sh: tmux is not installed, so no org session can be running; nothing to stop."
  exit 0
fi

if tmux has-session -t "=$session" 2>/dev/null; then
  tmux kill-session -t "=$session"
  echo "stopped org: killed tmux session '$session'. The conversation so far is in .org/sessions/ of its workspace."
else
  echo "no tmux session '$session' is running; nothing to stop."
fi
