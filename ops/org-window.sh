# Sourced by the ops scripts that run an org command in a window of their own (run.sh, grow.sh, supervise.sh), after
# tmux-session.sh has set $session. open_org_window NAME WIDTH LABEL COMMAND... opens the window NAME in $session
# (making the session, WIDTH columns wide, when there is none) running COMMAND in the current directory.
# start_org_loop NAME SCRIPT COMMAND... is what grow.sh and supervise.sh share: tmux and bun there, the stop command in
# $stop_command, and an exit 0 that says where it runs when the window NAME is there and its command still runs; a window
# whose command exited (killed, crashed: the pane waits at "exited with code N") is closed and opened again.
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
    if org_window_runs "$name"; then
      echo "org $name is already running in window '$name' of tmux session '$session'; nothing started."
      echo "  attach:  tmux attach -t $(printf '%q' "$session")    stop: $stop_command"
      exit 0
    fi
    local last
    last="$(tmux capture-pane -p -t "=$session:=$name" 2>/dev/null | grep -v '^[[:space:]]*$' | grep -m 1 'exited with code' || true)"
    echo "org $name in window '$name' of tmux session '$session' is no longer running (${last:-its process is gone}); replacing the window."
    tmux kill-window -t "=$session:=$name" 2>/dev/null || true
  fi
  open_org_window "$name" 160 "org $name" "$@"
}

# org_window_runs NAME: whether the window NAME's command still runs. The window's shell waits at "exited with code N"
# with no child once its command ended (or was killed); a pane tmux marks dead has ended too. Looked at a few times
# over half a second, so a window that has just been opened and not yet started its command is not taken for dead.
org_window_runs() {
  local name="$1" pane dead pid
  for _ in 1 2 3 4 5; do
    pane="$(tmux list-panes -t "=$session:=$name" -F '#{pane_dead} #{pane_pid}' 2>/dev/null | head -n 1)"
    dead="${pane%% *}"
    pid="${pane##* }"
    [ -n "$pane" ] || return 1
    [ "$dead" = 1 ] && return 1
    pgrep -P "$pid" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
