# Runs $run, its output into /scratch (the agent's, kept for the session), and records it; sets $code.
HOME=/scratch CI=1 npm_config_update_notifier=false timeout 280 sh -c "$run" > /scratch/playground-tests.log 2>&1
code=$?
printf '%s\n%s\n' "$run" "$code" > /scratch/playground-tests.result
