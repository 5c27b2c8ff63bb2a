#!/usr/bin/env bash
# Thin wrapper: 'org rollback [promote/<ts> or TOOL]' on this checkout (see 'bin/org rollback --help'). Arguments pass through.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" rollback --repo "$root" "$@"
