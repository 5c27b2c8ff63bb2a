. ./workspace.sh
. ./detect-tests.sh
if [ -z "$run" ]; then echo "test runner: none"; echo "why: $why"; exit 0; fi
echo "test runner: $run ($why)"
if ! command -v "${run%% *}" >/dev/null 2>&1; then echo "test exit code: 127 (${run%% *} is not installed in the sandbox)"; exit 0; fi
. ./run-tests.sh
tail -n 25 /scratch/playground-tests.log
echo "test exit code: $code"
