#!/usr/bin/env bash
# Starts the org chat room in a tmux session (default "org"; ORG_TMUX_SESSION overrides).
# Safe to run twice: a second run only says where the running room is. Arguments go to `chat`,
# e.g. ops/run.sh --config org.config.json --mode direct:python
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tmux-session.sh
. "$root/ops/tmux-session.sh"
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
has_session=false
if tmux has-session -t "=$session" 2>/dev/null; then
  has_session=true
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

# A tmux server that is already running would give the session its own, older environment:
# pass the settings org reads explicitly.
env_args=()
while IFS= read -r name; do
  env_args+=(-e "$name=${!name}")
done < <(compgen -e | grep -E '^(OLLAMA_|ORG_|NO_COLOR$|PATH$|HOME$|TERM$)' | grep -v '^ORG_TMUX_SESSION$' || true)
# Always set: the tmux server's own environment is not the user's and must not turn the sandbox off.
[ -n "${ORG_SANDBOX:-}" ] || env_args+=(-e "ORG_SANDBOX=on")

# Keep the pane open after the room exits so its last words (an error, the transcript path) stay readable.
chat="$(printf '%q ' "$org" chat "$@")"
shell_command="$chat; code=\$?; echo; echo \"org exited with code \$code. Press Enter to close this window.\"; read -r _"

if $has_session; then
  tmux new-window -d -t "=$session:" -n chat -c "$PWD" "${env_args[@]}" "$shell_command"
else
  tmux new-session -d -s "$session" -n chat -c "$PWD" -x 120 -y 40 "${env_args[@]}" "$shell_command"
fi
echo "started org in tmux session '$session' (org chat${*:+ $*}, workspace $PWD)."
attach_hint
