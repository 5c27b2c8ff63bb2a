# Sourced by the ops scripts that call tmux themselves: sets $session from ORG_TMUX_SESSION (default "org")
# and refuses a name tmux would change ('.' and ':' become '_', other characters are escaped), after which
# the session could not be found again. The same rule as tmuxSessionName in config/environment.ts.
session="${ORG_TMUX_SESSION:-org}"
if ! [[ "$session" =~ ^[A-Za-z0-9_-]{1,64}$ ]]; then
  suggestion="$(printf '%s' "$session" | LC_ALL=C tr -c 'A-Za-z0-9_-' '_' | cut -c1-64)"
  echo "$(basename "$0"): ORG_TMUX_SESSION=$(printf '%q' "$session") is not a name tmux keeps as given (it turns '.' and ':' into '_' and escapes other characters), so org could not find its session again. Use 1 to 64 letters, digits, '_' and '-', e.g. ${suggestion:-org}." >&2
  exit 2
fi
