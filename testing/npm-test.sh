#!/bin/sh
# `npm test`: the typecheck (tsgo, the web page's too) and the lint (biome) run beside the tests, not before them.
# The tests keep the cores only partly busy while they wait on what they start, and the checks' ~20 CPU-seconds fit in
# those gaps. Their output follows the tests' output; the run fails when either failed. tsgo checks with one checker:
# its default of four spent twice the CPU for the same diagnostics, and here the time it takes is hidden anyway.
set -u
run="${ORG_TEST_RUN:+$ORG_TEST_RUN }run-$$-$(date +%s%N)"
checks=$(mktemp "${TMPDIR:-/tmp}/org-checks-XXXXXX") || exit 1
(
  trap 'kill ${a:-} ${b:-} ${c:-} 2>/dev/null; exit 143' INT TERM HUP
  tsgo --noEmit --checkers 1 &
  a=$!
  tsgo --noEmit --checkers 1 -p web/page &
  b=$!
  biome ci --error-on-warnings . &
  c=$!
  wait "$a"
  x=$?
  wait "$b"
  y=$?
  wait "$c"
  z=$?
  [ "$x$y$z" = 000 ]
) >"$checks" 2>&1 &
checking=$!
trap 'kill -TERM "$checking" 2>/dev/null; rm -f "$checks"; exit 130' INT TERM HUP

TMPDIR="$(sh testing/test-tmpdir.sh)" ORG_TEST_RUN="$run" bun test --preload ./testing/test-run-preload.ts --timeout 60000 --parallel=$(($(nproc) * 3)) --no-isolate --timings=testing/test-timings.json $(sed 's/^/--path-ignore-patterns=/' testing/where-it-runs.files)
tested=$?

wait "$checking"
checked=$?
cat "$checks"
if [ "$checked" -ne 0 ]; then
  echo "npm test: the typecheck or the lint failed (above); run npm run typecheck, npm run lint, npm run format" >&2
fi
rm -f "$checks"
[ "$tested" -eq 0 ] && [ "$checked" -eq 0 ]
