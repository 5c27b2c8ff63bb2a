# Sourced by the ops scripts that run an org command in a window of their own (run.sh, grow.sh, supervise.sh), after
# tmux-session.sh has set $session. open_org_window NAME WIDTH LABEL COMMAND... opens the window NAME in $session
# (making the session, WIDTH columns wide, when there is none) running COMMAND in the current directory.
# start_org_loop NAME SCRIPT COMMAND... is what grow.sh and supervise.sh share: tmux and bun there, the stop command in
# $stop_command, and an exit 0 that says where it runs when the window NAME is there already; then the window opened.
open_org_window() {
  local name="$1" width="$2" label="$3"
  shift 3
  # A tmux server that is already running would give the window its own, older environment: pass what org reads.
  local env_args=() variable
  while IFS= read -r variable; do
    env_args+=(-e "$variable=${!variable}")
  done < <(compgen -e | grep -E '^(OLLAMA_|ORG_|NO_COLOR$|PATH$|HOME$|TERM$)' | grep -v '^ORG_TMUX_SESSION$' || true)
  # Always set: the tmux server's own environment is not the user's and must not turn the sandbox off.
  [ -n "${ORG_SANDBOX:-}" ] || env_args+=(-e "ORG_SANDBOX=on")
  # The pane stays after the command exits, so its last words (an error, a summary) stay readable.
  local command shell_command
  command="$(printf '%q ' "$@")"
  shell_command="$command; code=\$?; echo; echo \"$label exited with code \$code. Press Enter to close this window.\"; read -r _"
  if tmux has-session -t "=$session" 2>/dev/null; then
    tmux new-window -d -t "=$session:" -n "$name" -c "$PWD" "${env_args[@]}" "$shell_command"
  else
    tmux new-session -d -s "$session" -n "$name" -c "$PWD" -x "$width" -y 40 "${env_args[@]}" "$shell_command"
  fi
}

start_org_loop() {
  local name="$1" script="$2"
  shift 2
  if ! command -v tmux >/dev/null 2>&1; then
    echo "$script: tmux is not installed. Install it (Debian/Ubuntu: apt-get install tmux) or run it without: $(printf '%q' "$org") $name" >&2
    exit 1
  fi
  if [ ! -x "$root/node_modules/.bin/bun" ] && ! command -v bun >/dev/null 2>&1; then
    echo "$script: bun is not installed. Run 'npm install' in $root (it brings bun), then try again." >&2
    exit 1
  fi
  stop_command="$(printf '%q' "$root/ops/stop.sh") $name"
  if [ "$session" != org ]; then
    stop_command="ORG_TMUX_SESSION=$(printf '%q' "$session") $stop_command"
  fi
  if tmux has-session -t "=$session" 2>/dev/null && tmux list-windows -t "=$session" -F '#{window_name}' | grep -qx "$name"; then
    echo "org $name is already running in window '$name' of tmux session '$session'; nothing started."
    echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
    exit 0
  fi
  open_org_window "$name" 160 "org $name" "$@"
}
