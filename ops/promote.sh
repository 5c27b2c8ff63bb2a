#!/usr/bin/env bash
# Thin wrapper: 'org promote [BRANCH]' on this checkout (see 'bin/org promote --help'). With no branch it promotes
# the candidate most recently judged pass and says which. Arguments pass through.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" promote --repo "$root" "$@"
