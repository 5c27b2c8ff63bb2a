/**
 * The launcher's shell where it is installed: dash exports nothing of its own but PWD, which `lifelineWatch` unsets, so
 * what it starts gets exactly the launcher's environment with no `env -i` process on the way (bwrap-argv.ts).
 */
export const DASH_PATH = "/usr/bin/dash";

/** Cap on processes of all sandboxes together when the launcher runs as the dedicated uid. */
export const ALL_SANDBOXES_PROCESS_CAP = 512;

/**
 * The fd (in the launcher) of org's lifeline: one end of a socket pair whose other end only org holds. When org
 * dies, or ends the run, the launcher's shell reads end-of-file on it and kills the whole sandbox (`lifelineWatch`).
 */
export const LIFELINE_FD = 5;

/**
 * The end of every launcher's shell: it runs the rest of the line ("$@": [setpriv …] nice env bwrap …) in the
 * foreground and, beside it, a watcher reading org's lifeline (LIFELINE_FD). On end-of-file (org died, or
 * closed it) the watcher stops bwrap (SIGSTOP: it can then neither reap nor make a child), SIGKILLs bwrap's
 * child (the sandbox's PID 1: the kernel then kills every process of its pid namespace) and then the
 * launcher's whole process group (this shell, bwrap, a child of bwrap that has not yet left the group).
 * End-of-file cannot be missed: if org died before the watcher started, its first read returns at once.
 * bwrap's own --die-with-parent cannot be relied on for this: the outer bwrap sets it only after it cloned the
 * sandbox (org dying before that leaves bwrap running, its command unbounded), and bwrap's child sets it only
 * once it has set the sandbox up (the outer bwrap dying before that leaves the child running as PID 1 with
 * ppid 1, or blocked for ever waiting for the outer to map its uid: no child, holding scratch). Hence this
 * shell stays bwrap's parent rather than exec it: bwrap's parent must not die with org, or bwrap's death
 * signal could kill it before the watcher has read its child's pid.
 * The pids it signals are not stale: bwrap is this shell's child, reaped only once it has exited (and the
 * kernel hands pids out in turn, so none is reused within the moment before the shell then ends the watcher).
 * The watcher holds no output pipe, no scratch and no seccomp program; bwrap gets no lifeline. When bwrap
 * ends, the shell ends the watcher, reaps it, and exits with bwrap's status.
 */
export const lifelineWatch = (closeFds: readonly number[]) =>
  [
    "set +e",
    // dash exports PWD, which would reach bwrap, whose PID 1 shows its environment at /proc/1/environ.
    "unset PWD",
    "(",
    `  read -r line <&${LIFELINE_FD}`,
    // Its own stat: pid, (comm), …; the comm of this shell holds no space.
    "  read -r me rest < /proc/self/stat",
    '  read -r kids < "/proc/$$/task/$$/children"',
    "  for b in $kids; do",
    '    [ "$b" = "$me" ] && continue',
    '    kill -STOP "$b"',
    '    read -r inner < "/proc/$b/task/$b/children"',
    '    for c in $inner; do kill -KILL "$c"; done',
    "  done",
    "  kill -KILL 0",
    `) </dev/null >/dev/null 2>&1 ${closeFds.map((fd) => `${fd}<&-`).join(" ")} &`,
    "w=$!",
    `"$@" ${LIFELINE_FD}<&-`,
    "s=$?",
    'kill -KILL "$w"',
    // dash would say "Killed" on stderr, which is the command's.
    'wait "$w" 2>/dev/null',
    'exit "$s"',
  ].join("\n");

// Run by root in the launcher's own mount namespace: a small tmpfs on the mount point, scratch bind-mounted into
// it through the descriptor, each read-only source bind-mounted beside it, fd reopened there, then the rest.
// The mount point is shared by every launcher, but each mounts on it only in a mount namespace of its own.
// The sources are bound by one `mount -a` over a table of them (`$t`, made by `mountTable`) rather than by one
// `mount` each: a generated tool's sandbox has about twenty, and a process each cost 30 ms of CPU per sandbox.
export const DROP_ROOT_SCRIPT = (fd: number, seccompFd: number) =>
  [
    "set -e",
    // The cap on the processes of all sandboxes together (they all run as the dedicated uid), set by this shell
    // rather than by one more process: rlimits survive the change of uid. bash and busybox call it -u, dash -p.
    `ulimit -u ${ALL_SANDBOXES_PROCESS_CAP} 2>/dev/null || ulimit -p ${ALL_SANDBOXES_PROCESS_CAP}`,
    "m=$0; n=$1; t=$2; shift 2",
    // Without read-only mounts, scratch goes on the mount point itself: one process (mount) instead of three.
    'if [ "$n" -eq 0 ]; then',
    `  mount --bind "/proc/self/fd/${fd}" "$m"`,
    `  exec ${fd}<"$m"`,
    "else",
    '  mount -t tmpfs -o mode=0755,size=64k,nosuid,nodev org-sandbox "$m"',
    // Where each source goes: a file made by the shell itself; the folders, scratch's too, by mount as it binds them
    // (X-mount.mkdir), which spares a mkdir process per sandbox.
    "  i=0",
    '  while [ "$i" -lt "$n" ]; do',
    '    [ -d "$1" ] || : > "$m/ro$i"',
    "    i=$((i + 1)); shift",
    "  done",
    `  mount -o X-mount.mkdir --bind "/proc/self/fd/${fd}" "$m/scratch"`,
    '  printf \'%s\' "$t" > "$m/fstab"',
    '  mount --all --fstab "$m/fstab"',
    `  exec ${fd}<"$m/scratch"`,
    "fi",
    lifelineWatch([seccompFd, fd]),
  ].join("\n");

/** A path as a mount table holds it: blanks, controls and backslashes as octal escapes, which libmount decodes. */
function mountTablePath(path: string): string {
  return path.replace(/[\x00-\x20\x7f\\]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** The table `mount --all` reads in the drop-root script: each source bound on `<mount point>/ro<index>`, in order. */
export function mountTable(mountPoint: string, sources: readonly string[]): string {
  return sources
    .map((source, index) => `${mountTablePath(source)} ${mountTablePath(`${mountPoint}/ro${index}`)} none bind,X-mount.mkdir 0 0\n`)
    .join("");
}
