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
export const lifelineWatch = (closeFds: readonly number[], gateFd?: number) =>
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
    `) </dev/null >/dev/null 2>&1 ${[...closeFds, ...(gateFd === undefined ? [] : [gateFd])].map((fd) => `${fd}<&-`).join(" ")} &`,
    "w=$!",
    ...(gateFd === undefined
      ? [`"$@" ${LIFELINE_FD}<&-`, "s=$?"]
      : [
          // The rest starts only on org's "go" at the gate (`launcherGate`): anything else, or end-of-file, ends here.
          "s=1",
          `if read -r go <&${gateFd} && [ "$go" = go ]; then`,
          `  "$@" ${LIFELINE_FD}<&- ${gateFd}<&-`,
          "  s=$?",
          "fi",
        ]),
    'kill -KILL "$w"',
    // dash would say "Killed" on stderr, which is the command's.
    'wait "$w" 2>/dev/null',
    'exit "$s"',
  ].join("\n");

/** The fd (in the launcher, as root) of the mount table `mount --all` reads: an unlinked file org wrote (`mountTable`). */
export const MOUNT_TABLE_FD = 6;

/**
 * The fd (in the launcher) of the gate of a run with `ready`: one end of a socket pair whose other end only org holds.
 * The launcher's shell sets up what comes before bwrap (the drop-root prefix's mounts, the lifeline's watcher) and
 * then waits there for org's "go", which org writes only once `ready` has held: the first free fd after the others.
 */
export function launcherGate(hasMountTable: boolean): number {
  return hasMountTable ? MOUNT_TABLE_FD + 1 : MOUNT_TABLE_FD;
}

/**
 * The folder of the support dir holding an empty file per cover (`c0`, `c1`, …): as root, each cover (a git config shown
 * without its credentials, always a file) is mounted on one of them, which mount can bind on without the tmpfs the
 * shell must make a file on first. Seen by no one outside the launcher's mount namespace, and empty there.
 */
export const COVER_MOUNT_POINTS = "cover-mounts";

/** The file `index`th cover is mounted on, in `supportDir`. */
export function coverMountPoint(supportDir: string, index: number): string {
  return `${supportDir}/${COVER_MOUNT_POINTS}/c${index}`;
}

// Run by root in the launcher's own mount namespace: a small tmpfs on the mount point, scratch bind-mounted into
// it, each read-only source bind-mounted beside it, fd reopened there, then the rest.
// The mount point is shared by every launcher, but each mounts on it only in a mount namespace of its own.
// All of it is one `mount --all` over the table org hands over at MOUNT_TABLE_FD (`mountTable`) rather than a
// `mount` each: every process on the way to bwrap waits for a core, and a generated tool's sandbox has about twenty
// sources. A table's source is a path: scratch is mounted from the path org opened, then held to the descriptor
// org checked (`-ef`: the same device and inode), as `mount --bind /proc/self/fd/N` would, whose path libmount reads
// from the link. A source that is a file needs a file to be mounted on, which mount cannot make: then the shell
// mounts the tmpfs first (the table's own line for it), makes those files, and `mount --all` passes over the line
// of what is already mounted. Covers, always files, go on files of the support dir instead (`coverMountPoint`).
export const DROP_ROOT_SCRIPT = (fd: number, seccompFd: number, gateFd?: number) =>
  [
    "set -e",
    // The cap on the processes of all sandboxes together (they all run as the dedicated uid), set by this shell
    // rather than by one more process: rlimits survive the change of uid. bash and busybox call it -u, dash -p.
    `ulimit -u ${ALL_SANDBOXES_PROCESS_CAP} 2>/dev/null || ulimit -p ${ALL_SANDBOXES_PROCESS_CAP}`,
    // The mount point, whether there is a table, how many sources (each bound on ro<index>) follow.
    "m=$0; t=$1; n=$2; shift 2",
    // Without read-only mounts or covers, scratch goes on the mount point itself: one process, no table.
    'if [ "$t" -eq 0 ]; then',
    `  mount --bind "/proc/self/fd/${fd}" "$m"`,
    `  exec ${fd}<"$m"`,
    "else",
    "  i=0; f=",
    '  while [ "$i" -lt "$n" ]; do',
    '    [ -d "$1" ] || f="$f ro$i"',
    "    i=$((i + 1)); shift",
    "  done",
    '  if [ -n "$f" ]; then',
    `    mount --fstab /proc/self/fd/${MOUNT_TABLE_FD} "$m"`,
    '    for x in $f; do : > "$m/$x"; done',
    "  fi",
    `  mount --all --fstab /proc/self/fd/${MOUNT_TABLE_FD}`,
    `  exec ${MOUNT_TABLE_FD}<&-`,
    `  [ "$m/scratch" -ef /proc/self/fd/${fd} ] || { echo "org: scratch was moved while the sandbox started" >&2; exit 1; }`,
    `  exec ${fd}<"$m/scratch"`,
    "fi",
    lifelineWatch([seccompFd, fd], gateFd),
  ].join("\n");

/** A path as a mount table holds it: blanks, controls and backslashes as octal escapes, which libmount decodes. */
function mountTablePath(path: string): string {
  return path.replace(/[\x00-\x20\x7f\\]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/**
 * The table `mount --all` reads in the drop-root script: the tmpfs on `mountPoint`, `scratch` bound on
 * `<mount point>/scratch`, each source bound on `<mount point>/ro<index>`, in order, then each cover on its file.
 */
export function mountTable(
  mountPoint: string,
  scratch: string,
  sources: readonly string[],
  covers: readonly { source: string; target: string }[] = [],
): string {
  const bind = (source: string, target: string, options = "bind,X-mount.mkdir") =>
    `${mountTablePath(source)} ${mountTablePath(target)} none ${options} 0 0\n`;
  return [
    `org-sandbox ${mountTablePath(mountPoint)} tmpfs mode=0755,size=64k,nosuid,nodev 0 0\n`,
    bind(scratch, `${mountPoint}/scratch`),
    ...sources.map((source, index) => bind(source, `${mountPoint}/ro${index}`)),
    ...covers.map((cover) => bind(cover.source, cover.target, "bind")),
  ].join("");
}
