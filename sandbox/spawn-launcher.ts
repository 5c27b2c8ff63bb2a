import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { join } from "node:path";
import { type BwrapPlan, LAUNCHER_ENV, launcherCommand, rootMountTable, SANDBOX_NICENESS } from "./bwrap-argv.ts";
import { WAITER_SCRIPT, WAITER_SHELL } from "./hand-over.ts";
import { COVER_MOUNT_POINTS, coverMountPoint, DASH_PATH, LIFELINE_FD, launcherGate } from "./launcher-scripts.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { type OpenScratch, openExistingScratch } from "./open-scratch.ts";
import type { SandboxLimits } from "./sandbox-limits.ts";
import type { SandboxOptions } from "./sandbox-options.ts";
import type { WaitingSandbox } from "./sandbox-pool.ts";
import { SCRATCH_MOUNT_POINT } from "./sandbox-support.ts";
import { type PipedProcess, spawnPiped } from "./supervise-run.ts";

/** The launcher's plan for these options: scratch at fd 4, the seccomp program at fd 3 (from `supportDir`). */
export function planFor(
  options: Omit<SandboxOptions, "argv" | "policy"> & { argv?: string[] },
  limits: SandboxLimits,
  dropRoot: boolean,
  supportDir: string,
): BwrapPlan {
  return {
    argv: options.argv ?? [],
    limits,
    scratchFd: 4,
    network: options.network ?? false,
    env: options.env ?? {},
    supportDir,
    seccompFd: 3,
    dropRoot,
    dash: existsSync(DASH_PATH),
    spawnedNicer: dropRoot,
    scratchMountPoint: join(supportDir, SCRATCH_MOUNT_POINT),
    readOnlyMounts: options.readOnlyMounts,
    writableMounts: options.writableMounts,
    maskedDirs: options.maskedDirs,
    maskedFiles: options.maskedFiles,
    coveredFiles: options.coveredFiles,
    workingDir: options.workingDir,
  };
}

/** What a waiting sandbox must match to take a call: its whole launcher command and its scratch directory. */
export function poolKey(plan: BwrapPlan, scratchDirectory: string): string {
  return `${JSON.stringify(launcherCommand(plan))}\0${scratchDirectory}`;
}

/**
 * Spawns a launcher line with the seccomp program at fd 3, the scratch directory at fd 4 and org's lifeline at
 * fd 5 (LIFELINE_FD): a socket whose other end only this process holds (close-on-exec), closed once the launcher
 * has exited. Should org die first, the kernel closes it, and the launcher's shell kills the sandbox. As root, with
 * sources to mount, the drop-root prefix's mount table comes at fd 6 (MOUNT_TABLE_FD).
 * With `spawnedNicer` the launcher starts SANDBOX_NICENESS nicer than org, as `nice -n` would make it: the niceness
 * is a thread's, so this thread takes it for the spawn (the child inherits it) and gives it back, which root may.
 */
export function spawnLauncher(
  command: string[],
  stdin: string | undefined | { pipe: true },
  plan: Omit<BwrapPlan, "argv">,
  scratch: OpenScratch,
): PipedProcess {
  // Opened for each sandbox: bwrap reads the program to its end, and the offset is shared.
  const seccompFd = openSync(join(plan.supportDir, "seccomp.bpf"), "r");
  const table = rootMountTable(plan, scratch.directory);
  let tableFd: number | undefined;
  const own = plan.spawnedNicer ? getPriority() : undefined;
  let proc: PipedProcess;
  try {
    if (table !== undefined) ensureCoverMountPoints(plan.supportDir, plan.coveredFiles?.length ?? 0);
    tableFd = table === undefined ? undefined : openMountTable(plan.supportDir, table);
    // From fd 3 on: the seccomp program, scratch, the lifeline (LIFELINE_FD), the table (MOUNT_TABLE_FD), the gate.
    const fds: (number | "pipe")[] = [seccompFd, scratch.fd, "pipe", ...(tableFd === undefined ? [] : [tableFd])];
    if (plan.gateFd !== undefined) {
      if (plan.gateFd !== launcherGate(tableFd !== undefined))
        throw new RangeError(`the launcher's gate is at fd ${launcherGate(tableFd !== undefined)}, not ${plan.gateFd}`);
      fds.push("pipe");
    }
    if (own !== undefined) setPriority(0, Math.min(19, own + SANDBOX_NICENESS));
    proc = spawnPiped(command, stdin, { env: { ...LAUNCHER_ENV }, cwd: "/", extraFds: fds });
  } finally {
    if (own !== undefined) setPriority(0, own);
    closeSync(seccompFd);
    if (tableFd !== undefined) closeSync(tableFd);
  }
  const lifeline = proc.stdio[LIFELINE_FD];
  if (typeof lifeline !== "number") {
    proc.kill("SIGKILL");
    throw new Error(`the sandbox launcher got no lifeline at fd ${LIFELINE_FD}; this Bun cannot give extra pipes to a child`);
  }
  // Bun neither closes it on exit nor on collection: closed here, exactly once.
  proc.exited.finally(() => closeSync(lifeline)).catch(() => {});
  return proc;
}

/**
 * The mount table in a file no one else can open: made in the support dir (which only this uid may write) under a
 * name of its own, and unlinked at once. mount reads it through /proc/self/fd, which reopens the file itself.
 */
function openMountTable(supportDir: string, table: string): number {
  const path = join(supportDir, `mounts.${process.pid}.${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, "wx", 0o600);
  try {
    unlinkSync(path);
    writeSync(fd, table);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** The support dir's empty files the drop-root prefix mounts `count` covers on (`coverMountPoint`), made where missing. */
function ensureCoverMountPoints(supportDir: string, count: number): void {
  if (count === 0) return;
  try {
    mkdirSync(join(supportDir, COVER_MOUNT_POINTS), { mode: 0o755 });
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
  }
  for (let index = 0; index < count; index += 1) {
    const path = coverMountPoint(supportDir, index);
    try {
      closeSync(openSync(path, "wx", 0o644));
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
      if (!lstatSync(path).isFile()) throw new Error(`the sandbox's cover mount point ${path} is not a plain file; remove it`);
    }
  }
}

/** Starts a sandbox that waits for its command, on the scratch directory if that still exists. */
export function startWaiting(plan: BwrapPlan, scratchDirectory: string, key: string): WaitingSandbox | undefined {
  const scratch = openExistingScratch(scratchDirectory, plan.dropRoot);
  if (!scratch) return undefined;
  try {
    const { dev, ino } = fstatSync(scratch.fd);
    const command = [...launcherCommand(plan), WAITER_SHELL, "-c", WAITER_SCRIPT];
    const proc = spawnLauncher(command, { pipe: true }, plan, { directory: scratchDirectory, fd: scratch.fd });
    const { stdin } = proc;
    if (stdin === undefined || typeof stdin === "number") {
      proc.kill("SIGKILL");
      return undefined;
    }
    stdin.unref();
    return { key, proc, stdin, scratch: { dev, ino } };
  } finally {
    closeSync(scratch.fd);
  }
}
