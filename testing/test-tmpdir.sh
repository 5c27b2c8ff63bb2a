#!/bin/sh
# Prints the folder the test command gives the suite as TMPDIR. The suite makes tens of thousands of files (git
# repositories, copies of org, workspaces): on a RAM disk each costs a fraction of the system time it costs on a
# disk, and system time was two fifths of the suite's CPU. So: $ORG_TEST_TMPDIR when set; else /dev/shm when it is
# a tmpfs this user can write and run programs from, with at least 4 GiB free; else $TMPDIR (or /tmp) as it was.
set -u
if [ -n "${ORG_TEST_TMPDIR:-}" ]; then
  printf '%s\n' "$ORG_TEST_TMPDIR"
  exit 0
fi
fallback=${TMPDIR:-/tmp}
ram=/dev/shm
if [ "$(stat -f -c %T "$ram" 2>/dev/null)" != tmpfs ]; then
  printf '%s\n' "$fallback"
  exit 0
fi
free_kib=$(df -Pk "$ram" 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ "${free_kib:-0}" -lt 4194304 ]; then
  printf '%s\n' "$fallback"
  exit 0
fi
# Tests write scripts into their temp folders and run them: a noexec mount will not do.
probe=$(mktemp -d "$ram/org-tmpdir-probe-XXXXXX" 2>/dev/null) || {
  printf '%s\n' "$fallback"
  exit 0
}
printf '#!/bin/sh\nexit 0\n' >"$probe/run" && chmod 755 "$probe/run" && "$probe/run" 2>/dev/null
runs=$?
rm -rf "$probe"
if [ "$runs" -eq 0 ]; then printf '%s\n' "$ram"; else printf '%s\n' "$fallback"; fi
