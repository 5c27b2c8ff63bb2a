#!/usr/bin/env bash
# Runs a candidate branch (default: the newest cand/*) from its worktree under .org/worktrees/ with
# `org serve` on ${ORG_CANDIDATE_PORT:-7002} in the window "candidate" of the tmux session
# ${ORG_TMUX_SESSION:-org}, and returns once /health answers with the branch's commit (or says why not).
# A branch whose diff from main touches anything outside tools/generated/ is refused, naming the files.
# Usage: ops/start-candidate.sh [cand/YYYYMMDDTHHMMSSZ] [--config FILE]. Safe to run twice. The logic is `org instance`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" instance start candidate "$@"
