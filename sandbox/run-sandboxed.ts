import { closeSync, existsSync, fstatSync, mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { type BwrapPlan, bwrapCommand, LAUNCHER_ENV, LIFELINE_FD, launcherCommand, limitsCommand, type ReadOnlyMount } from "./bwrap-argv.ts";
import { handOverLine, WAITER_SCRIPT, WAITER_SHELL } from "./hand-over.ts";
import { openExistingScratch, openScratch } from "./open-scratch.ts";
import { MAX_RESET_DEPTH, resetScratchModes } from "./reset-scratch-modes.ts";
import { startWatchdog } from "./run-watchdog.ts";
import { DEFAULT_TIMEOUT_MS, resolveLimits, type SandboxLimits } from "./sandbox-limits.ts";
import { refillPool, sandboxPoolSize, takeWaitingSandbox, type WaitingSandbox } from "./sandbox-pool.ts";
import { SCRATCH_MOUNT_POINT, sandboxSupportDir } from "./sandbox-support.ts";
import { type PipedProcess, spawnPiped, superviseRun } from "./supervise-run.ts";

/**
 * What the sandbox takes from org's settings, given by the caller (which reads them where settings are read):
 * sandbox/ reads no environment of its own.
 */
export type SandboxSettings = {
  /** `ORG_SANDBOX=off`: run on the host, unsandboxed, with a warning every time. Off unless given. */
  sandboxDisabled?: boolean;
  /** The values of org's secrets: `env` may carry none of them into the sandbox. */
  secretValues?: readonly string[];
};

/** One sandboxed run: the command, what it may touch, its bounds, and the settings it runs under. */
export type SandboxOptions = SandboxSettings & {
  argv: string[];
  /** Text fed to the command's stdin; without it stdin is /dev/null, so a stray read ends at once. */
  stdin?: string;
  /** Host directory mounted read-write at /scratch (also HOME and cwd); created if missing. */
  scratchDir: string;
  timeoutMs?: number;
  limits?: Partial<SandboxLimits>;
  /** Share the host's network. Off unless a tool's declared capability asks for it and config allows it. */
  network?: boolean;
  /** Host paths shown read-only inside (a runtime, libraries, a generated tool's folder). */
  readOnlyMounts?: readonly ReadOnlyMount[];
  /** Extra variables for the command; refused if a value is one of `secretValues`. */
  env?: Record<string, string>;
  abortSignal?: AbortSignal;
};

/** The same flat shape on success and failure (execa's, plus `truncated`). */
export type SandboxResult = {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  isCanceled: boolean;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
};

const INSTALL_HINT = "Install it with: apt-get install -y bubblewrap (Debian/Ubuntu) or dnf install bubblewrap (Fedora).";

/** bwrap is missing or cannot create namespaces here; nothing ran. Never falls back to running unsandboxed. */
export class SandboxUnavailableError extends Error {
  override name = "SandboxUnavailableError";
}

let availability: Promise<void> | undefined;
/** A sandbox has started here: a run (or the probe) got as far as its command. */
let confirmed = false;
let toolsFound = false;
/**
 * How many sandboxes this process ran a command in, the probe included (read by a test: a first call launches
 * one). Sandboxes started ahead of need count when they are handed their command.
 */
let launches = 0;

export function sandboxLaunchCount(): number {
  return launches;
}

/** Resolves when bwrap can start a sandbox here; rejects with SandboxUnavailableError saying what is missing. */
export function ensureSandboxAvailable(): Promise<void> {
  if (confirmed) return Promise.resolve();
  availability ??= probeSandbox().catch((error) => {
    availability = undefined;
    throw error;
  });
  return availability;
}

function checkToolsInstalled(): void {
  if (toolsFound) return;
  for (const tool of ["bwrap", "prlimit"]) {
    if (!Bun.which(tool, { PATH: LAUNCHER_ENV.PATH })) {
      const hint = tool === "bwrap" ? INSTALL_HINT : "Install util-linux, which provides it.";
      throw new SandboxUnavailableError(`the sandbox cannot run: ${tool} is not installed. ${hint}`);
    }
  }
  toolsFound = true;
}

async function probeSandbox(): Promise<void> {
  checkToolsInstalled();
  const scratch = join(sandboxSupportDir(), "probe-scratch");
  const result = await spawnSandbox({ argv: ["/bin/true"], scratchDir: scratch, timeoutMs: 10_000 }, false);
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || `exit code ${result.exitCode}`;
    throw new SandboxUnavailableError(
      `the sandbox cannot run: bwrap could not create its namespaces (${detail}). ` +
        "On Ubuntu 23.10+ allow unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0 " +
        "or an AppArmor profile for bwrap); inside Docker, run with a seccomp profile that allows them. " +
        INSTALL_HINT,
    );
  }
  confirmed = true;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

// A bound on sandboxes running at once, so several models calling tools cannot overload the host.
const sandboxSlots = new FifoSemaphore(4);

/**
 * Runs `argv` in bubblewrap with no network (unless asked), a read-only system, private /tmp and /dev/shm,
 * one writable scratch dir, a scrubbed environment, seccomp, rlimits, a wall-clock kill and output caps.
 * Command failures, timeouts and limit kills are results; only a sandbox that cannot start throws.
 */
export async function runSandboxed(options: SandboxOptions): Promise<SandboxResult> {
  if (options.argv.length === 0) throw new RangeError("runSandboxed needs a command (argv is empty)");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`runSandboxed needs a positive timeoutMs, got ${options.timeoutMs}`);
  }
  checkEnvironment(options.env, options.secretValues ?? []);
  if (options.sandboxDisabled) return runUnsandboxed(options);
  checkToolsInstalled();
  let release: () => void;
  try {
    release = await sandboxSlots.acquire({ signal: options.abortSignal });
  } catch {
    return canceledBeforeStart(); // aborted while queued: the only way acquire without a timeout rejects
  }
  let result: SandboxResult;
  try {
    if (options.abortSignal?.aborted) return canceledBeforeStart();
    result = await spawnSandbox(options, true);
  } finally {
    release();
  }
  // No probe before the first run (it cost a whole second sandbox): a run that succeeded proves the sandbox
  // works; one that failed before any sandbox was known to work is checked by the probe, which throws if bwrap
  // itself could not start, so the failure is never mistaken for the command's.
  if (result.exitCode === 0) confirmed = true;
  else if (!confirmed && !result.isCanceled && !result.timedOut) await ensureSandboxAvailable();
  return result;
}

/** A run cancelled while it waited for a slot: nothing was started. */
function canceledBeforeStart(): SandboxResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    isCanceled: true,
    stdout: "",
    stderr: "[sandbox: cancelled before it started]\n",
    truncated: false,
    durationMs: 0,
  };
}

function checkEnvironment(env: Record<string, string> | undefined, secretValues: readonly string[]): void {
  if (!env) return;
  const secrets = new Set(secretValues);
  for (const [name, value] of Object.entries(env)) {
    if (secrets.has(value)) throw new Error(`refusing to pass ${name} into the sandbox: its value is one of org's secrets`);
  }
}

async function spawnSandbox(options: SandboxOptions, pooling: boolean): Promise<SandboxResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limits = resolveLimits(options.limits, timeoutMs);
  const dropRoot = isRoot();
  const scratch = openScratch(options.scratchDir, dropRoot);
  launches += 1;
  try {
    const plan = planFor(options, limits, dropRoot);
    const handOver = pooling ? handOverFor(options, plan, scratch.directory) : undefined;
    // As root, the launcher drops to the dedicated uid itself (setpriv, no supplementary groups) once scratch
    // is mounted: root would keep capabilities and be exempt from RLIMIT_NPROC.
    const waited = handOver && handOverToWaiting(handOver, scratch.fd);
    const proc = waited || spawnLauncher(bwrapCommand(plan), options.stdin, plan.supportDir, scratch.fd);
    const result = await superviseRun(proc, { abortSignal: options.abortSignal, timeoutMs, limits }, (kill) =>
      startWatchdog({
        launcherPid: proc.pid,
        scratchDir: scratch.directory,
        scratchBytes: limits.scratchBytes,
        scratchFiles: limits.scratchFiles,
        totalMemoryBytes: limits.totalMemoryBytes,
        onLimit: kill,
      }),
    );
    const { tooDeep } = resetScratchModes(scratch.fd);
    if (tooDeep > 0) {
      const separator = result.stderr && !result.stderr.endsWith("\n") ? "\n" : "";
      result.stderr += `${separator}[sandbox: ${tooDeep} directories nested deeper than ${MAX_RESET_DEPTH} levels in scratch were left as they are; delete them]\n`;
    }
    // The next call like this one most likely comes from the same session: its sandbox starts now, once the
    // caller has this result (setImmediate), and only where a sandbox is known to work. Only for a call that
    // repeats (it was handed over, or the call before had the same key): callers that open a new scratch for
    // every run (the toolsmith's stages, the gate) would otherwise pay a second bwrap start per run for nothing.
    const repeated = handOver !== undefined && (waited !== undefined || lastKey === handOver.key);
    lastKey = handOver?.key;
    if (handOver && repeated) setImmediate(() => confirmed && refillPool(handOver.key, () => startWaiting(plan, scratch.directory, handOver.key)));
    return result;
  } finally {
    closeSync(scratch.fd);
  }
}

/** The launcher's plan for these options: scratch at fd 4, the seccomp program at fd 3. */
function planFor(options: Omit<SandboxOptions, "argv"> & { argv?: string[] }, limits: SandboxLimits, dropRoot: boolean): BwrapPlan {
  const supportDir = sandboxSupportDir();
  return {
    argv: options.argv ?? [],
    limits,
    scratchFd: 4,
    network: options.network ?? false,
    env: options.env ?? {},
    supportDir,
    seccompFd: 3,
    dropRoot,
    scratchMountPoint: join(supportDir, SCRATCH_MOUNT_POINT),
    readOnlyMounts: options.readOnlyMounts,
  };
}

/**
 * Starts, in the background, the sandbox a call with these options would be handed, so that even a session's
 * first call pays none of bwrap's set-up: call it when a session opens, long before its first tool call. It
 * makes scratch as that call would. Nothing happens when the pool is off, the sandbox is disabled or not
 * installed, or such a call could not be handed over (extra `env`); any failure is left for the call to report.
 */
export function prestartSandbox(options: Omit<SandboxOptions, "argv" | "stdin" | "abortSignal">): void {
  if (options.sandboxDisabled || !poolUsable(options.env ?? {})) return;
  try {
    checkToolsInstalled();
    checkEnvironment(options.env, options.secretValues ?? []);
    const dropRoot = isRoot();
    const plan = planFor(options, resolveLimits(options.limits, options.timeoutMs ?? DEFAULT_TIMEOUT_MS), dropRoot);
    const scratch = openScratch(options.scratchDir, dropRoot);
    closeSync(scratch.fd);
    const key = poolKey(plan, scratch.directory);
    lastKey = key;
    refillPool(key, () => startWaiting(plan, scratch.directory, key));
  } catch {
    // The first call meets the same problem and reports it.
  }
}

/** The key of the last pooled call (or prestart): a call with the same key is a repeat, worth a waiting sandbox. */
let lastKey: string | undefined;

function poolKey(plan: BwrapPlan, scratchDirectory: string): string {
  return `${JSON.stringify(launcherCommand(plan))}\0${scratchDirectory}`;
}

/**
 * Spawns a launcher line with the seccomp program at fd 3, the scratch directory at fd 4 and org's lifeline at
 * fd 5 (LIFELINE_FD): a socket whose other end only this process holds (close-on-exec), closed once the launcher
 * has exited. Should org die first, the kernel closes it, and the launcher's shell kills the sandbox.
 */
function spawnLauncher(command: string[], stdin: string | undefined | { pipe: true }, supportDir: string, scratchFd: number): PipedProcess {
  // Opened for each sandbox: bwrap reads the program to its end, and the offset is shared.
  const seccompFd = openSync(join(supportDir, "seccomp.bpf"), "r");
  let proc: PipedProcess;
  try {
    proc = spawnPiped(command, stdin, { env: { ...LAUNCHER_ENV }, cwd: "/", extraFds: [seccompFd, scratchFd, "pipe"] });
  } finally {
    closeSync(seccompFd);
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

type HandOver = { key: string; line: string };

/**
 * What a waiting sandbox needs to take this call: the key its launcher must match and the line it is handed;
 * undefined when the call starts its own (stdin text, extra environment, an argv no line carries, no dash).
 */
function handOverFor(options: SandboxOptions, plan: BwrapPlan, scratchDirectory: string): HandOver | undefined {
  if (options.stdin !== undefined || !poolUsable(plan.env)) return undefined;
  const line = handOverLine([...limitsCommand(plan.limits), ...plan.argv]);
  if (line === undefined) return undefined;
  return { key: poolKey(plan, scratchDirectory), line };
}

/** A waiting sandbox can take a call with this environment: the pool is on, dash is there, no extra `env`. */
function poolUsable(env: Record<string, string>): boolean {
  return sandboxPoolSize() > 0 && Object.keys(env).length === 0 && waiterShellPresent();
}

let waiterShell: boolean | undefined;
function waiterShellPresent(): boolean {
  waiterShell ??= existsSync(WAITER_SHELL);
  return waiterShell;
}

/** The waiting sandbox for this call, handed its command; undefined when none waits (or it no longer fits). */
function handOverToWaiting(handOver: HandOver, scratchFd: number): PipedProcess | undefined {
  const waiting = takeWaitingSandbox(handOver.key, scratchFd);
  if (!waiting) return undefined;
  // superviseRun starts the timeout, the output caps and the watchdog after this: they count from here.
  const { proc, stdin } = waiting;
  try {
    stdin.write(handOver.line);
    Promise.resolve(stdin.end()).catch(() => {});
  } catch {
    // The sandbox died meanwhile: its exit is the run's result, as a fresh sandbox's failure would be.
  }
  return proc;
}

/** Starts a sandbox that waits for its command, on the scratch directory if that still exists. */
function startWaiting(plan: BwrapPlan, scratchDirectory: string, key: string): WaitingSandbox | undefined {
  const scratch = openExistingScratch(scratchDirectory, plan.dropRoot);
  if (!scratch) return undefined;
  try {
    const { dev, ino } = fstatSync(scratch.fd);
    const command = [...launcherCommand(plan), WAITER_SHELL, "-c", WAITER_SCRIPT];
    const proc = spawnLauncher(command, { pipe: true }, plan.supportDir, scratch.fd);
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

/** `ORG_SANDBOX=off`: the user chose to run model-made commands on the host. Said loudly, every time. */
async function runUnsandboxed(options: SandboxOptions): Promise<SandboxResult> {
  process.stderr.write(
    `org: WARNING: ORG_SANDBOX=off — running a model-made command UNSANDBOXED on this host: ${JSON.stringify(options.argv).slice(0, 200)}\n`,
  );
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limits = resolveLimits(options.limits, timeoutMs);
  const scratchDir = resolve(options.scratchDir);
  if (!existsSync(scratchDir)) mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  const proc = spawnPiped(options.argv, options.stdin, {
    env: { ...LAUNCHER_ENV, HOME: scratchDir, LANG: "C.UTF-8", ...options.env },
    cwd: scratchDir,
  });
  return superviseRun(proc, { abortSignal: options.abortSignal, timeoutMs, limits });
}
