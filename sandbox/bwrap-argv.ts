import type { SandboxLimits } from "./sandbox-limits.ts";

/** Host uid the launcher drops to when org runs as root: root ignores RLIMIT_NPROC and keeps capabilities. */
export const SANDBOX_HOST_UID = 61_234;
/** The uid and gid the command sees inside; mapped to the launcher's uid outside. */
export const SANDBOX_INNER_UID = 65_534;
/** Cap on processes of all sandboxes together when the launcher runs as the dedicated uid. */
export const ALL_SANDBOXES_PROCESS_CAP = 512;

/** Where the command finds its scratch directory; it is also HOME and the working directory. */
export const SCRATCH_MOUNT = "/scratch";

/**
 * The fd (in the launcher) of org's lifeline: one end of a socket pair whose other end only org holds. When org
 * dies, or ends the run, the launcher's shell reads end-of-file on it and kills the whole sandbox (`lifelineWatch`).
 */
export const LIFELINE_FD = 5;

/** The environment of the launcher itself: bwrap's PID 1 keeps it, readable at /proc/1/environ. */
export const LAUNCHER_ENV = { PATH: "/usr/bin:/bin" } as const;

export type BwrapPlan = {
  argv: string[];
  limits: SandboxLimits;
  /** The fd number (in the child) of the open scratch directory, mounted at /scratch with `--bind-fd`. */
  scratchFd: number;
  network: boolean;
  env: Record<string, string>;
  /** Read-only files the launcher prepared: synthetic passwd, group and hosts. */
  supportDir: string;
  /** The fd number (in the child) that carries the seccomp program. */
  seccompFd: number;
  /** org runs as root: the launcher drops to SANDBOX_HOST_UID, and scratch reaches it through `scratchMountPoint`. */
  dropRoot: boolean;
  /** When dropping from root: an empty directory the sandbox uid can reach (in the support dir). */
  scratchMountPoint?: string;
  /** Host files or folders shown read-only at a path inside (a runtime, libraries, a tool's folder). */
  readOnlyMounts?: readonly ReadOnlyMount[];
  /** Host folders shown writable at a path inside (a private copy of the workspace), mounted before the read-only ones. */
  writableMounts?: readonly ReadOnlyMount[];
  /** Folders inside hidden under an empty read-only tmpfs (the workspace's `.org/`, secret folders), after every mount. */
  maskedDirs?: readonly string[];
  /** Files inside covered by an empty read-only file (the workspace's secret files), after every mount. */
  maskedFiles?: readonly string[];
  /**
   * Files inside covered by a host file, read-only, after the masks (a git config shown without its credentials): the
   * target may be any name a mask may be; as root the source is mounted by the launcher's prefix, as the others are.
   */
  coveredFiles?: readonly ReadOnlyMount[];
  /** The command's working directory; SCRATCH_MOUNT when left out. */
  workingDir?: string;
  /**
   * A hosts file shown at /etc/hosts instead of the synthetic one, without /etc/resolv.conf: with `network`, only the
   * names it lists resolve inside (a sandboxed MCP server's `network` hosts).
   */
  hostsFile?: string;
};

/** A host path shown read-only inside the sandbox at `target`. */
export type ReadOnlyMount = { source: string; target: string };

// Targets a read-only mount may not cover: the system, the sandbox's own mounts and its synthetic /etc.
const RESERVED_TARGETS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/proc", "/dev/shm", "/dev", "/tmp", SCRATCH_MOUNT];
// Of those, the folders a mount may sit inside without covering them: /tmp and /dev/shm are the sandbox's own
// tmpfs, mounted before the host mounts, so a host path under either (a checkout on a RAM disk) can be shown at its
// own path.
const NESTABLE_TARGETS = ["/tmp", "/dev/shm"];

/** Refuses a mount target that is not a plain absolute path or that would hide one of the sandbox's own mounts. */
export function checkReadOnlyMount(mount: ReadOnlyMount): void {
  const { target } = mount;
  const plain = /^(\/[A-Za-z0-9_.@+-]+)+$/.test(target) && !target.split("/").some((part) => part === "." || part === "..");
  const nested = NESTABLE_TARGETS.some((folder) => target.startsWith(`${folder}/`));
  const reserved = RESERVED_TARGETS.some((prefix) => target === prefix || (!nested && target.startsWith(`${prefix}/`)));
  if (!plain || reserved || !mount.source.startsWith("/")) {
    throw new RangeError(
      `read-only mount ${JSON.stringify(mount.source)} → ${JSON.stringify(target)} is refused: give an absolute source and a plain absolute target outside ${RESERVED_TARGETS.join(", ")} (inside /tmp and /dev/shm is allowed)`,
    );
  }
}

/** How much nicer than org a sandboxed command runs; without CAP_SYS_NICE it cannot undo it. */
export const SANDBOX_NICENESS = 5;

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
const lifelineWatch = (closeFds: readonly number[]) =>
  [
    "set +e",
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
const DROP_ROOT_SCRIPT = (fd: number, seccompFd: number) =>
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
    // Where each source goes: a file made by the shell itself, the folders by one mkdir (ro<i>, no spaces).
    '  i=0; d=""',
    '  while [ "$i" -lt "$n" ]; do',
    '    if [ -d "$1" ]; then d="$d ro$i"; else : > "$m/ro$i"; fi',
    "    i=$((i + 1)); shift",
    "  done",
    '  (cd "$m" && exec mkdir scratch $d)',
    `  mount --bind "/proc/self/fd/${fd}" "$m/scratch"`,
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
  return sources.map((source, index) => `${mountTablePath(source)} ${mountTablePath(`${mountPoint}/ro${index}`)} none bind 0 0\n`).join("");
}

/**
 * As root, before dropping to the sandbox uid: bwrap 0.8 resolves a `--bind-fd` descriptor's path (and every
 * `--ro-bind` source) with realpath() as the sandbox uid, which cannot pass private (0700) directories such as
 * `/root` or the `.org/scratch` above scratch. So, in a mount namespace of this launcher alone, root mounts
 * scratch (through the descriptor, never its path) and each read-only source on a tmpfs that uid can reach, and
 * the descriptor is reopened there. The mounts go away with the launcher; the host never sees them.
 */
function dropRootPrefix(plan: Omit<BwrapPlan, "argv">): string[] {
  if (!plan.scratchMountPoint) throw new RangeError("dropping from root needs a scratchMountPoint for scratch");
  const sources = [...hostMounts(plan), ...(plan.coveredFiles ?? [])].map((mount) => mount.source);
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
    "-c",
    DROP_ROOT_SCRIPT(Math.trunc(plan.scratchFd), Math.trunc(plan.seccompFd)),
    plan.scratchMountPoint,
    String(sources.length),
    mountTable(plan.scratchMountPoint, sources),
    ...sources,
    // No capabilities survive the change to a non-zero uid; no supplementary groups either.
    "setpriv",
    `--reuid=${SANDBOX_HOST_UID}`,
    `--regid=${SANDBOX_HOST_UID}`,
    "--clear-groups",
    "--",
  ];
}

/** The full command line: [unshare … sh (ulimit, mounts, lifeline) … setpriv …] | [sh (lifeline)] nice env -i … bwrap … -- prlimit … argv. Pure, so tests can read it. */
export function bwrapCommand(plan: BwrapPlan): string[] {
  return [...launcherCommand(plan), ...limitsCommand(plan.limits), ...plan.argv];
}

/**
 * Everything up to the command bwrap starts inside: [unshare … setpriv …] | [sh …] nice env -i … bwrap … --. Fixed when
 * the sandbox starts (mounts, namespaces, environment, seccomp), so it is what a pooled sandbox must share with
 * a call (`sandbox-pool.ts`); the rlimits and the command come after it.
 */
export function launcherCommand(plan: Omit<BwrapPlan, "argv">): string[] {
  // Nicer than org, so on a busy CPU the watchdog measuring the sandbox keeps up with it. All sandboxes share
  // the dedicated uid; the drop-root prefix's ulimit bounds them together (the inner prlimit bounds each one).
  // Either way a shell watching org's lifeline comes first (`lifelineWatch`).
  const watch = plan.dropRoot ? dropRootPrefix(plan) : ["/bin/sh", "-c", lifelineWatch([Math.trunc(plan.seccompFd), Math.trunc(plan.scratchFd)]), "sh"];
  const outer = [...watch, "nice", "-n", String(SANDBOX_NICENESS)];
  const bwrap = [
    // bwrap stays PID 1 inside, and /proc/1/environ shows its own environment: exactly the launcher's, never
    // what the shell on the way added (it sets PWD to org's working directory).
    "env",
    "-i",
    ...Object.entries(LAUNCHER_ENV).map(([name, value]) => `${name}=${value}`),
    "bwrap",
    "--unshare-all",
    ...(plan.network ? ["--share-net"] : []),
    "--unshare-user",
    "--disable-userns",
    "--uid",
    String(SANDBOX_INNER_UID),
    "--gid",
    String(SANDBOX_INNER_UID),
    "--hostname",
    "sandbox",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--clearenv",
    ...setenv(commandEnvironment(plan.env)),
    ...filesystemArgs(plan),
    "--chdir",
    plan.workingDir ?? SCRATCH_MOUNT,
    // bwrap builds / and /dev as tmpfs without a size; read-only, they cannot be used to fill host memory.
    "--remount-ro",
    "/dev",
    "--remount-ro",
    "/",
    "--seccomp",
    String(plan.seccompFd),
    "--",
  ];
  return [...outer, ...bwrap];
}

/** The sandbox's filesystem: the system's files, the kernel's, the work's mounts, and the masks over them, in that order. */
function filesystemArgs(plan: Omit<BwrapPlan, "argv">): string[] {
  return [...systemArgs(plan), ...kernelArgs(plan.limits), ...workArgs(plan), ...maskArgs(plan)];
}

/** /usr and a few /etc files read-only, synthetic passwd/group/hosts (resolv.conf too with network and no hosts file of the plan's). */
function systemArgs(plan: Omit<BwrapPlan, "argv">): string[] {
  return [
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/sbin",
    "/sbin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--ro-bind-try",
    "/etc/ld.so.cache",
    "/etc/ld.so.cache",
    "--ro-bind-try",
    "/etc/alternatives",
    "/etc/alternatives",
    "--ro-bind-try",
    "/etc/ssl",
    "/etc/ssl",
    "--ro-bind-try",
    "/etc/ca-certificates",
    "/etc/ca-certificates",
    "--ro-bind-try",
    "/etc/localtime",
    "/etc/localtime",
    "--ro-bind",
    `${plan.supportDir}/passwd`,
    "/etc/passwd",
    "--ro-bind",
    `${plan.supportDir}/group`,
    "/etc/group",
    "--ro-bind",
    plan.hostsFile ?? `${plan.supportDir}/hosts`,
    "/etc/hosts",
    ...(plan.network && plan.hostsFile === undefined ? ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"] : []),
  ];
}

/** Fresh /proc and /dev, and sized tmpfs for /dev/shm and /tmp. */
function kernelArgs(limits: BwrapPlan["limits"]): string[] {
  return [
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--perms",
    "1777",
    "--size",
    String(limits.shmBytes),
    "--tmpfs",
    "/dev/shm",
    "--perms",
    "1777",
    "--size",
    String(limits.tmpBytes),
    "--tmpfs",
    "/tmp",
  ];
}

/** The scratch directory and the caller's mounts (read-only unless marked writable). */
function workArgs(plan: Omit<BwrapPlan, "argv">): string[] {
  return [
    // The directory org opened and checked, not a path: nothing can swap it, and no parent needs to be reachable.
    "--bind-fd",
    String(plan.scratchFd),
    SCRATCH_MOUNT,
    ...hostMounts(plan).flatMap((mount, index) => {
      checkReadOnlyMount(mount);
      // As root, the launcher's prefix has mounted the source where the sandbox uid can reach it.
      const source = plan.dropRoot ? `${plan.scratchMountPoint}/ro${index}` : mount.source;
      return [mount.writable ? "--bind" : "--ro-bind", source, mount.target];
    }),
  ];
}

/** Masked folders and files over the mounts: empty and read-only. */
function maskArgs(plan: Omit<BwrapPlan, "argv">): string[] {
  return [
    // Over a read-only mount: an empty tmpfs, itself made read-only, so nothing below shows and nothing lands there.
    ...(plan.maskedDirs ?? []).flatMap((target) => {
      checkMaskTarget(target);
      return ["--perms", "0555", "--size", "4096", "--tmpfs", target, "--remount-ro", target];
    }),
    // An empty file of the support dir, read-only, over each: it reads as empty, and a link to it reaches the cover too.
    ...(plan.maskedFiles ?? []).flatMap((target) => {
      checkMaskTarget(target);
      return ["--ro-bind", `${plan.supportDir}/${EMPTY_FILE}`, target];
    }),
    // Each after the host mounts in the drop-root table, so its source is where the prefix mounted it.
    ...(plan.coveredFiles ?? []).flatMap((cover, index) => {
      checkMaskTarget(cover.target);
      if (!cover.source.startsWith("/")) throw new RangeError(`cover ${JSON.stringify(cover.source)} is refused: give an absolute source`);
      return ["--ro-bind", plan.dropRoot ? `${plan.scratchMountPoint}/ro${hostMounts(plan).length + index}` : cover.source, cover.target];
    }),
  ];
}

/** The support dir's empty file, mounted over each masked file. */
const EMPTY_FILE = "empty";

/**
 * Refuses a mask that is not an absolute path of plain parts (no empty, `.` or `..` part, no NUL) or that would cover
 * one of the sandbox's own mounts. Any other name is allowed: a user's secret file may hold spaces or stranger bytes,
 * and bwrap takes it as one argument.
 */
function checkMaskTarget(target: string): void {
  const parts = target.split("/").slice(1);
  const plain = target.startsWith("/") && parts.length > 0 && !target.includes("\0") && parts.every((part) => part !== "" && part !== "." && part !== "..");
  const nested = NESTABLE_TARGETS.some((folder) => target.startsWith(`${folder}/`));
  const reserved = RESERVED_TARGETS.some((prefix) => target === prefix || (!nested && target.startsWith(`${prefix}/`)));
  if (!plain || reserved) throw new RangeError(`mask ${JSON.stringify(target)} is refused: give a plain absolute path outside ${RESERVED_TARGETS.join(", ")}`);
}

/** The host folders a sandbox mounts, writable ones first, each with its place in the drop-root table. */
function hostMounts(plan: Omit<BwrapPlan, "argv">): (ReadOnlyMount & { writable: boolean })[] {
  return [
    ...(plan.writableMounts ?? []).map((mount) => ({ ...mount, writable: true })),
    ...(plan.readOnlyMounts ?? []).map((mount) => ({ ...mount, writable: false })),
  ];
}

/** `prlimit <limits> --`, run inside before the command. */
export function limitsCommand(limits: SandboxLimits): string[] {
  // Limits are set inside, after bwrap made the user namespace: RLIMIT_NPROC then counts this sandbox's
  // processes only, and the command cannot raise the hard limits back (no CAP_SYS_RESOURCE).
  const cpuHard = limits.cpuSeconds + 1;
  return [
    "/usr/bin/prlimit",
    `--cpu=${limits.cpuSeconds}:${cpuHard}`,
    `--as=${limits.memoryBytes}:${limits.memoryBytes}`,
    `--fsize=${limits.fileSizeBytes}:${limits.fileSizeBytes}`,
    `--nproc=${limits.processes}:${limits.processes}`,
    `--nofile=${limits.openFiles}:${limits.openFiles}`,
    "--core=0:0",
    "--memlock=65536:65536",
    "--",
  ];
}

/**
 * The variables bwrap sets for the command, in order; bwrap itself then adds PWD (its `--chdir`), so the command
 * sees these and PWD last (what a waiting sandbox rebuilds, `hand-over.ts`).
 */
export function commandEnvironment(env: Record<string, string>): Record<string, string> {
  return { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", HOME: SCRATCH_MOUNT, TMPDIR: "/tmp", ...env };
}

function setenv(variables: Record<string, string>): string[] {
  return Object.entries(variables).flatMap(([name, value]) => ["--setenv", name, value]);
}

/** Synthetic /etc files, so `id`, `whoami` and Python's pwd work without leaking host user names. */
export function supportFiles(): Record<"passwd" | "group" | "hosts" | typeof EMPTY_FILE, string> {
  const id = SANDBOX_INNER_UID;
  return {
    [EMPTY_FILE]: "",
    passwd: `root:x:0:0:root:/root:/bin/sh\nsandbox:x:${id}:${id}:sandbox:${SCRATCH_MOUNT}:/bin/sh\n`,
    group: `root:x:0:\nsandbox:x:${id}:\n`,
    hosts: "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost ip6-loopback\n",
  };
}
