# Sourced by the ops scripts that run an org command in a window of their own (run.sh, grow.sh), after
# tmux-session.sh has set $session. open_org_window NAME WIDTH LABEL COMMAND... opens the window NAME in $session
# (making the session, WIDTH columns wide, when there is none) running COMMAND in the current directory.
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
