#!/bin/sh
# `npm test`: the typecheck (tsgo, the web page's too) and the lint (biome) run beside the tests, not before them.
# The tests keep the cores only partly busy while they wait on what they start, and the checks' ~20 CPU-seconds fit in
# those gaps. Their output follows the tests' output; the run fails when either failed. tsgo checks with one checker:
# its default of four spent twice the CPU for the same diagnostics, and here the time it takes is hidden anyway.
set -u
run="${ORG_TEST_RUN:+$ORG_TEST_RUN }run-$$-$(date +%s%N)"
checks=$(mktemp "${TMPDIR:-/tmp}/org-checks-XXXXXX") || exit 1
# The run's temp files in one folder of its own, removed when the run ends however it ends: a test process's own
# folders (ORG_HOME, a tmux server's) are made in it, and bun's test runner runs no exit handler to remove them.
# Open to all as the temp dir is (sticky): a sandbox runs its command as another user, who must reach the tests' folders.
scratch=$(mktemp -d "$(sh testing/test-tmpdir.sh)/org-test-run-XXXXXX") || exit 1
chmod 1777 "$scratch"
(
  trap 'kill ${a:-} ${b:-} ${c:-} 2>/dev/null; exit 143' INT TERM HUP
  tsgo --noEmit --checkers 1 &
  a=$!
  tsgo --noEmit --checkers 1 -p web/page &
  b=$!
  biome ci --error-on-warnings --diagnostic-level=warn --colors=off . &
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
trap 'kill -TERM "$checking" 2>/dev/null; rm -f "$checks"; rm -rf "$scratch"; exit 130' INT TERM HUP

TMPDIR="$scratch" ORG_TEST_RUN="$run" bun test --preload ./testing/test-run-preload.ts --timeout 60000 --parallel=$(($(nproc) * 3)) --no-isolate --timings=testing/test-timings.json $(sed 's/^/--path-ignore-patterns=/' testing/where-it-runs.files)
tested=$?
rm -rf "$scratch"

wait "$checking"
checked=$?
cat "$checks"
if [ "$checked" -ne 0 ]; then
  echo "npm test: the typecheck or the lint failed (above); run npm run typecheck, npm run lint, npm run format" >&2
fi
rm -f "$checks"
[ "$tested" -eq 0 ] && [ "$checked" -eq 0 ]
