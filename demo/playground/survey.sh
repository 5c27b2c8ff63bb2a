. ./workspace.sh
. ./detect-tests.sh
echo "workspace: $(ls -A | grep -vcxF .org) entries"
ls -Ap | grep -vxF .org/ | head -n 40
if [ -n "$readme" ]; then
  lines=$(wc -l < "$readme")
  echo "readme: $readme, $lines line$([ "$lines" -eq 1 ] || echo s)"
  # printf, not echo: sh's echo reads a backslash in the line (a literal \n) as an escape.
  printf 'first line: %s\n' "$(grep -m 1 -v '^[[:space:]]*$' "$readme" | cut -c 1-200)"
else echo "readme: none"; fi
echo "tests: ${run:-none} ($why)"
