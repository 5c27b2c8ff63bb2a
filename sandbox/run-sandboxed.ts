import { chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { environmentSettings, secretEnvironmentValues } from "../config/environment.ts";
import { bwrapCommand, LAUNCHER_ENV, type ReadOnlyMount, SANDBOX_HOST_UID } from "./bwrap-argv.ts";
import { drainInto, OutputCapture } from "./output-capture.ts";
import { formatBytes, sandboxPidNamespace, startWatchdog, type Watchdog, waitUntilEmpty } from "./run-watchdog.ts";
import { DEFAULT_TIMEOUT_MS, resolveLimits, type SandboxLimits } from "./sandbox-limits.ts";
import { sandboxSupportDir } from "./sandbox-support.ts";

/** One sandboxed run: the command, what it may touch, and its bounds. */
export type SandboxOptions = {
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
  /** Extra variables for the command; refused if a value is one of this process's secrets. */
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

/** The scratch path cannot be used as given: not a plain directory, or a directory org must not take over. */
export class ScratchDirectoryError extends Error {
  override name = "ScratchDirectoryError";
}

let availability: Promise<void> | undefined;

/** Resolves when bwrap can start a sandbox here; rejects with SandboxUnavailableError saying what is missing. */
export function ensureSandboxAvailable(): Promise<void> {
  availability ??= probeSandbox().catch((error) => {
    availability = undefined;
    throw error;
  });
  return availability;
}

async function probeSandbox(): Promise<void> {
  for (const tool of ["bwrap", "prlimit"]) {
    if (!Bun.which(tool, { PATH: LAUNCHER_ENV.PATH })) {
      const hint = tool === "bwrap" ? INSTALL_HINT : "Install util-linux, which provides it.";
      throw new SandboxUnavailableError(`the sandbox cannot run: ${tool} is not installed. ${hint}`);
    }
  }
  const scratch = join(sandboxSupportDir(), "probe-scratch");
  const result = await spawnSandbox({ argv: ["/bin/true"], scratchDir: scratch, timeoutMs: 10_000 });
  if (result.exitCode !== 0) {
    const detail = result.stderr.trim() || `exit code ${result.exitCode}`;
    throw new SandboxUnavailableError(
      `the sandbox cannot run: bwrap could not create its namespaces (${detail}). ` +
        "On Ubuntu 23.10+ allow unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0 " +
        "or an AppArmor profile for bwrap); inside Docker, run with a seccomp profile that allows them. " +
        INSTALL_HINT,
    );
  }
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
  checkEnvironment(options.env);
  if (environmentSettings().sandboxDisabled) return runUnsandboxed(options);
  await ensureSandboxAvailable();
  let release: () => void;
  try {
    release = await sandboxSlots.acquire({ signal: options.abortSignal });
  } catch {
    return canceledBeforeStart(); // aborted while queued: the only way acquire without a timeout rejects
  }
  try {
    return options.abortSignal?.aborted ? canceledBeforeStart() : await spawnSandbox(options);
  } finally {
    release();
  }
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

function checkEnvironment(env: Record<string, string> | undefined): void {
  if (!env) return;
  const secrets = new Set(secretEnvironmentValues());
  for (const [name, value] of Object.entries(env)) {
    if (secrets.has(value)) throw new Error(`refusing to pass ${name} into the sandbox: its value is one of org's secrets`);
  }
}

/** Creates the scratch dir and, when the launcher drops from root, hands it to the sandbox uid. */
function prepareScratch(scratchDir: string, dropRoot: boolean): string {
  const directory = resolve(scratchDir);
  // Parents stay searchable (the sandbox uid must pass through them); scratch itself is private.
  mkdirSync(dirname(directory), { recursive: true, mode: 0o755 });
  const created = !existsSync(directory);
  if (created) mkdirSync(directory, { mode: 0o700 });
  // lstat: a symlink here would make the chown below (and the bind mount) act on whatever it points at.
  const stat = lstatSync(directory);
  if (!stat.isDirectory()) {
    throw new ScratchDirectoryError(
      `scratch path ${directory} is not a plain directory (a symlink or a file); give a directory, or a path to create`,
    );
  }
  if (dropRoot) {
    // Handing a directory that already holds someone's files to the sandbox uid would change who owns it for
    // good, and the files inside would stay unwritable in the sandbox anyway.
    if (!created && stat.uid !== SANDBOX_HOST_UID && readdirSync(directory).length > 0) {
      throw new ScratchDirectoryError(
        `scratch directory ${directory} already holds files and belongs to uid ${stat.uid}. When org runs as root it ` +
          `gives scratch to the sandbox user (uid ${SANDBOX_HOST_UID}), and it will not take over a directory in use: ` +
          "give an empty directory or a new path.",
      );
    }
    chownSync(directory, SANDBOX_HOST_UID, SANDBOX_HOST_UID);
    const unreachable = unreachableScratchReason(directory);
    if (unreachable) throw new SandboxUnavailableError(unreachable);
  }
  return directory;
}

/**
 * Why the sandbox uid could not reach `directory` when org runs as root (bwrap runs as that uid and must pass
 * through every existing parent), or undefined when it can, or when org does not run as root.
 */
export function unreachableScratchReason(directory: string): string | undefined {
  if (!isRoot()) return undefined;
  for (let parent = dirname(resolve(directory)); ; parent = dirname(parent)) {
    if (existsSync(parent) && (statSync(parent).mode & 0o001) === 0) {
      return (
        `the sandbox cannot reach its scratch directory ${directory}: ${parent} is not searchable by other users ` +
        `(org drops from root to uid ${SANDBOX_HOST_UID}). Run 'chmod o+x ${parent}' or use a workspace elsewhere.`
      );
    }
    if (parent === dirname(parent)) return undefined;
  }
}

async function spawnSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limits = resolveLimits(options.limits, timeoutMs);
  const dropRoot = isRoot();
  const scratchDir = prepareScratch(options.scratchDir, dropRoot);
  const supportDir = sandboxSupportDir();
  const seccompFd = openSync(join(supportDir, "seccomp.bpf"), "r");
  const command = bwrapCommand({
    argv: options.argv,
    limits,
    scratchDir,
    network: options.network ?? false,
    env: options.env ?? {},
    supportDir,
    seccompFd: 3,
    dropRoot,
    readOnlyMounts: options.readOnlyMounts,
  });
  let proc: ReturnType<typeof spawnPiped>;
  try {
    // As root, the launcher itself starts as the dedicated uid (setuid/setgid and no supplementary groups in
    // the child before exec): root would keep capabilities and be exempt from RLIMIT_NPROC.
    const identity = dropRoot ? { uid: SANDBOX_HOST_UID, gid: SANDBOX_HOST_UID } : {};
    proc = spawnPiped(command, options.stdin, { env: { ...LAUNCHER_ENV }, extraFd: seccompFd, ...identity });
  } finally {
    closeSync(seccompFd);
  }
  return superviseRun(proc, options, limits, timeoutMs, (kill) =>
    startWatchdog({
      bwrapPid: proc.pid,
      scratchDir,
      scratchBytes: limits.scratchBytes,
      scratchFiles: limits.scratchFiles,
      totalMemoryBytes: limits.totalMemoryBytes,
      onLimit: kill,
    }),
  );
}

function spawnPiped(
  command: string[],
  stdin: string | undefined,
  options: { env: Record<string, string>; cwd?: string; extraFd?: number; uid?: number; gid?: number },
) {
  return Bun.spawn(command, {
    env: options.env,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    stdio: [
      stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      "pipe",
      "pipe",
      ...(options.extraFd === undefined ? [] : [options.extraFd]),
    ],
  });
}

/** Drains both streams at once, enforces the wall clock, the output budget and the watchdog, and builds the result. */
async function superviseRun(
  proc: ReturnType<typeof spawnPiped>,
  options: SandboxOptions,
  limits: SandboxLimits,
  timeoutMs: number,
  startExtraWatch?: (kill: (reason: string) => void) => Watchdog,
): Promise<SandboxResult> {
  const started = performance.now();
  const stdout = new OutputCapture("stdout", limits.outputBytes);
  const stderr = new OutputCapture("stderr", limits.outputBytes);
  let timedOut = false;
  let isCanceled = false;
  let killReason: string | undefined;
  let killedNamespace: string | undefined;
  const kill = (reason: string) => {
    killReason ??= reason;
    // Note the sandbox's pid namespace first: after bwrap dies the kernel tears it down, and we wait for that.
    killedNamespace ??= sandboxPidNamespace(proc.pid);
    proc.kill("SIGKILL");
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill(`it ran past its ${formatSeconds(timeoutMs)} timeout`);
  }, timeoutMs);
  const onAbort = () => {
    isCanceled = true;
    kill("the run was cancelled");
  };
  if (options.abortSignal?.aborted) onAbort();
  else options.abortSignal?.addEventListener("abort", onAbort, { once: true });
  const watchdog = startExtraWatch?.(kill);
  const onBytes = () => {
    if (stdout.totalBytes + stderr.totalBytes > limits.outputKillBytes) {
      kill(`it wrote more than ${formatBytes(limits.outputKillBytes)} of output`);
    }
  };
  try {
    await Promise.all([
      drainInto(proc.stdout as ReadableStream<Uint8Array>, stdout, onBytes),
      drainInto(proc.stderr as ReadableStream<Uint8Array>, stderr, onBytes),
      proc.exited,
    ]);
  } finally {
    clearTimeout(timer);
    watchdog?.stop();
    options.abortSignal?.removeEventListener("abort", onAbort);
  }
  if (killedNamespace) await waitUntilEmpty(killedNamespace);
  const lateVerdict = killReason === undefined ? await watchdog?.finalVerdict() : undefined;
  let stderrText = stderr.text();
  const note = (text: string) => `${stderrText && !stderrText.endsWith("\n") ? "\n" : ""}[sandbox: ${text}]\n`;
  if (killReason) stderrText += note(`killed because ${killReason}`);
  else if (lateVerdict) stderrText += note(`when the command ended, ${lateVerdict}`);
  const exitCode = proc.exitCode;
  return {
    exitCode,
    signal: proc.signalCode === null ? signalFromExitCode(exitCode) : String(proc.signalCode),
    timedOut,
    isCanceled,
    stdout: stdout.text(),
    stderr: stderrText,
    truncated: stdout.truncated || stderr.truncated,
    durationMs: Math.round(performance.now() - started),
  };
}

const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
  11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
};

// bwrap reports a command killed by signal N as exit code 128 + N, the way a shell does.
function signalFromExitCode(exitCode: number | null): string | null {
  if (exitCode === null || exitCode <= 128) return null;
  return SIGNAL_NAMES[exitCode - 128] ?? null;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
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
  return superviseRun(proc, options, limits, timeoutMs);
}
