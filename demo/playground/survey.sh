. ./workspace.sh
. ./detect-tests.sh
echo "workspace: $(ls -A | grep -vcxF .org) entries"
ls -Ap | grep -vxF .org/ | head -n 40
if [ -n "$readme" ]; then
  echo "readme: $readme, $(wc -l < "$readme") lines"
  echo "first line: $(grep -m 1 -v '^[[:space:]]*$' "$readme" | cut -c 1-200)"
else echo "readme: none"; fi
echo "tests: ${run:-none} ($why)"
