#!/usr/bin/env bash
# Thin wrapper: 'org fitness [PORT]' on this checkout (see 'bin/org fitness --help'). Arguments pass through.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$root/bin/org" fitness --repo "$root" "$@"
