# Into the project; a room with sandbox.workspace "none" shows the agents none.
cd /workspace 2>/dev/null || { echo "workspace: none (this room shows the agents no workspace: sandbox.workspace is none)"; exit 0; }
readme=$(ls -A | grep -i -m 1 -E '^readme(\.[a-z]+)?$')
