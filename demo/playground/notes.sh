. ./workspace.sh
. ./detect-tests.sh
# Tests not run yet in this session (org patch, a new room): run them now, for the notes.
if [ ! -f /scratch/playground-tests.result ] && [ -n "$run" ] && command -v "${run%% *}" >/dev/null 2>&1; then
. ./run-tests.sh
fi
entries=$(ls -A | grep -vcxF .org)
listing=$(ls -Ap | grep -vxF .org/ | head -n 12 | tr '\n' ' ')
{
  echo "# Notes on this project"
  echo
  echo "Written by org's scripted playground agent from what its commands printed in the sandbox; no model wrote this."
  echo
  echo "## What is here"
  echo
  echo "- $entries entries at the top: $listing"
  # printf, not echo: sh's echo reads a backslash in the README's line (a literal \n) as an escape.
  if [ -n "$readme" ]; then printf -- '- %s opens with: %s\n' "$readme" "$(grep -m 1 -v '^[[:space:]]*$' "$readme" | cut -c 1-200)"; else echo "- no README"; fi
  echo
  echo "## Tests"
  echo
  if [ -f /scratch/playground-tests.result ]; then
    { read -r ran; read -r code; } < /scratch/playground-tests.result
    echo "- \`$ran\` exited $code in the sandbox; its last lines:"
    echo
    tail -n 10 /scratch/playground-tests.log | sed 's/^/    /; s/^ *$//'
  else echo "- not run: $why"; fi
} > NOTES.md
lines=$(wc -l < NOTES.md)
echo "notes: NOTES.md, $lines line$([ "$lines" -eq 1 ] || echo s)"
