import { coverMountPoint, DASH_PATH, DROP_ROOT_SCRIPT, lifelineWatch, mountTable } from "./launcher-scripts.ts";
import type { SandboxLimits } from "./sandbox-limits.ts";

/** Host uid the launcher drops to when org runs as root: root ignores RLIMIT_NPROC and keeps capabilities. */
export const SANDBOX_HOST_UID = 61_234;
/** The uid and gid the command sees inside; mapped to the launcher's uid outside. */
export const SANDBOX_INNER_UID = 65_534;

/** Where the command finds its scratch directory; it is also HOME and the working directory. */
export const SCRATCH_MOUNT = "/scratch";

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
  /** dash is installed (DASH_PATH): the launcher's shell, which passes the launcher's environment on as it is. */
  dash?: boolean;
  /**
   * org (as root, which may make its thread less nice again) spawns the launcher SANDBOX_NICENESS nicer than itself
   * (`spawnLauncher`), so the line holds no `nice` process.
   */
  spawnedNicer?: boolean;
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
  /** The fd (in the launcher) of org's gate (`launcherGate`): the launcher starts bwrap only on org's "go" there. */
  gateFd?: number;
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
      `read-only mount ${JSON.stringify(mount.source)} → ${JSON.stringify(target)} is refused: give an ` +
        `absolute source and a plain absolute target outside ${RESERVED_TARGETS.join(", ")} (inside /tmp and /dev/shm is allowed)`,
    );
  }
}

/** How much nicer than org a sandboxed command runs; without CAP_SYS_NICE it cannot undo it. */
export const SANDBOX_NICENESS = 5;

/**
 * As root, before dropping to the sandbox uid: bwrap 0.8 resolves a `--bind-fd` descriptor's path (and every
 * `--ro-bind` source) with realpath() as the sandbox uid, which cannot pass private (0700) directories such as
 * `/root` or the `.org/scratch` above scratch. So, in a mount namespace of this launcher alone, root mounts
 * scratch (the folder of the descriptor, checked) and each read-only source on a tmpfs that uid can reach, each cover
 * on a file of the support dir, and the descriptor is reopened there. The mounts go away with the launcher; the host
 * never sees them.
 */
function dropRootPrefix(plan: Omit<BwrapPlan, "argv">): string[] {
  if (!plan.scratchMountPoint) throw new RangeError("dropping from root needs a scratchMountPoint for scratch");
  const sources = hostMounts(plan).map((mount) => mount.source);
  const table = sources.length + (plan.coveredFiles?.length ?? 0) > 0;
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    launcherShell(plan),
    "-c",
    DROP_ROOT_SCRIPT(Math.trunc(plan.scratchFd), Math.trunc(plan.seccompFd), plan.gateFd === undefined ? undefined : Math.trunc(plan.gateFd)),
    plan.scratchMountPoint,
    table ? "1" : "0",
    String(sources.length),
    ...sources,
    // No capabilities survive the change to a non-zero uid; no supplementary groups either.
    "setpriv",
    `--reuid=${SANDBOX_HOST_UID}`,
    `--regid=${SANDBOX_HOST_UID}`,
    "--clear-groups",
    "--",
  ];
}

/**
 * The table the drop-root prefix mounts from (`mountTable`, handed over at MOUNT_TABLE_FD), with scratch at the path
 * org opened; undefined when it needs none (not dropping from root, or no sources nor covers: scratch is bound from
 * its fd).
 */
export function rootMountTable(plan: Omit<BwrapPlan, "argv">, scratchDirectory: string): string | undefined {
  if (!plan.dropRoot || !plan.scratchMountPoint) return undefined;
  const sources = hostMounts(plan).map((mount) => mount.source);
  const covers = (plan.coveredFiles ?? []).map((cover, index) => ({ source: cover.source, target: coverMountPoint(plan.supportDir, index) }));
  return sources.length + covers.length > 0 ? mountTable(plan.scratchMountPoint, scratchDirectory, sources, covers) : undefined;
}

/** The launcher's shell: dash where it is installed, else /bin/sh (followed by `env -i`, see launcherCommand). */
function launcherShell(plan: Pick<BwrapPlan, "dash">): string {
  return plan.dash ? DASH_PATH : "/bin/sh";
}

/**
 * The full command line: [unshare … sh (ulimit, mounts, lifeline) … setpriv …] | [sh (lifeline)] [nice] [env -i …] bwrap …
 * -- prlimit … argv. Pure, so tests can read it.
 */
export function bwrapCommand(plan: BwrapPlan): string[] {
  return [...launcherCommand(plan), ...limitsCommand(plan.limits), ...plan.argv];
}

/**
 * Everything up to the command bwrap starts inside: [unshare … setpriv …] | [sh …] [nice] [env -i …] bwrap … --. Fixed when
 * the sandbox starts (mounts, namespaces, environment, seccomp), so it is what a pooled sandbox must share with
 * a call (`sandbox-pool.ts`); the rlimits and the command come after it.
 */
export function launcherCommand(plan: Omit<BwrapPlan, "argv">): string[] {
  // Nicer than org, so on a busy CPU the watchdog measuring the sandbox keeps up with it. All sandboxes share
  // the dedicated uid; the drop-root prefix's ulimit bounds them together (the inner prlimit bounds each one).
  // Either way a shell watching org's lifeline comes first (`lifelineWatch`).
  const watch = plan.dropRoot
    ? dropRootPrefix(plan)
    : [
        launcherShell(plan),
        "-c",
        lifelineWatch([Math.trunc(plan.seccompFd), Math.trunc(plan.scratchFd)], plan.gateFd === undefined ? undefined : Math.trunc(plan.gateFd)),
        "sh",
      ];
  const outer = [...watch, ...(plan.spawnedNicer ? [] : ["nice", "-n", String(SANDBOX_NICENESS)])];
  // bwrap stays PID 1 inside, and /proc/1/environ shows its own environment: exactly the launcher's, never what the
  // shell on the way added. dash adds only PWD, which the lifeline watch unsets; another /bin/sh may add more (bash
  // exports `_` and SHLVL), so after one of those `env -i` starts bwrap with the launcher's environment alone.
  const clean = plan.dash ? [] : ["env", "-i", ...Object.entries(LAUNCHER_ENV).map(([name, value]) => `${name}=${value}`)];
  const bwrap = [
    ...clean,
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
    `${plan.supportDir}/hosts`,
    "/etc/hosts",
    ...(plan.network ? ["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"] : []),
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
    // As root, its source is the support dir's file the prefix mounted it on.
    ...(plan.coveredFiles ?? []).flatMap((cover, index) => {
      checkMaskTarget(cover.target);
      if (!cover.source.startsWith("/")) throw new RangeError(`cover ${JSON.stringify(cover.source)} is refused: give an absolute source`);
      return ["--ro-bind", plan.dropRoot ? coverMountPoint(plan.supportDir, index) : cover.source, cover.target];
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
  const plain =
    target.startsWith("/") && parts.length > 0 && !target.includes("\0") && parts.every((part) => part !== "" && part !== "." && part !== "..");
  const nested = NESTABLE_TARGETS.some((folder) => target.startsWith(`${folder}/`));
  const reserved = RESERVED_TARGETS.some((prefix) => target === prefix || (!nested && target.startsWith(`${prefix}/`)));
  if (!plain || reserved)
    throw new RangeError(`mask ${JSON.stringify(target)} is refused: give a plain absolute path outside ${RESERVED_TARGETS.join(", ")}`);
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
