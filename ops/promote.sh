#!/usr/bin/env bash
# Thin wrapper: 'org promote' on this checkout (see 'bin/org promote --help'). Arguments pass through.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" promote --repo "$root" "$@"
