# How the project tests itself: $run (empty when no way is found) and $why.
run=""; why=""
if [ -f package.json ] && grep -q '"test"[[:space:]]*:' package.json; then
  if grep -q 'no test specified' package.json; then why="package.json's test script is npm's placeholder"; else run="npm test"; why="package.json has a test script"; fi
fi
if [ -z "$run" ] && [ -f Makefile ] && grep -q '^test:' Makefile; then run="make test"; why="the Makefile has a test target"; fi
pytests=$(ls -d test_*.py *_test.py tests/test_*.py tests/*_test.py 2>/dev/null | head -n 1)
if [ -z "$run" ] && { [ -n "$pytests" ] || [ -f pytest.ini ] || [ -f conftest.py ] || grep -qs 'pytest' pyproject.toml setup.cfg tox.ini; }; then
  start=.; [ -d tests ] && start=tests
  if python3 -c 'import pytest' 2>/dev/null; then run="python3 -m pytest -q -p no:cacheprovider"; why="Python tests, run with pytest"
  else run="python3 -m unittest discover -v -s $start"; why="Python tests; pytest is not installed in the sandbox, so unittest runs them"; fi
fi
if [ -z "$run" ] && [ -f Cargo.toml ]; then run="cargo test --offline"; why="a Cargo.toml"; fi
if [ -z "$run" ] && [ -f go.mod ]; then run="go test ./..."; why="a go.mod"; fi
[ -n "$run" ] || why="no package.json test script, no Makefile test target, no Python tests, no Cargo.toml, no go.mod"
