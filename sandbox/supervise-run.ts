import { drainInto, OutputCapture } from "./output-capture.ts";
import { killNamespace, sandboxPidNamespace, waitUntilEmpty } from "./pid-namespace.ts";
import type { SandboxResult } from "./run-sandboxed.ts";
import { formatBytes, type Watchdog } from "./run-watchdog.ts";
import type { SandboxLimits } from "./sandbox-limits.ts";

/**
 * How long stdout and stderr are still read after the process exited. Whatever it wrote is in the pipe by then;
 * only a process it left behind (an orphan holding the pipes) could keep them open longer, and it must not keep
 * the run, and its sandbox slot, for ever.
 */
export const OUTPUT_GRACE_MS = 1000;

/**
 * Spawns `command` as the leader of a process group of its own, stdout and stderr piped, extra fds after them.
 * stdin: text to read, /dev/null when undefined, or a pipe org writes to (a sandbox waiting for its command).
 */
export function spawnPiped(
  command: string[],
  stdin: string | undefined | { pipe: true },
  options: { env: Record<string, string>; cwd?: string; extraFds?: number[]; uid?: number; gid?: number },
) {
  return Bun.spawn(command, {
    env: options.env,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    // setsid(): a kill of the group then reaches every process it made that has not left the group, such as
    // bwrap's child while it still sets the sandbox up.
    detached: true,
    stdio: [stdinOf(stdin), "pipe", "pipe", ...(options.extraFds ?? [])],
  });
}

function stdinOf(stdin: string | undefined | { pipe: true }): "ignore" | "pipe" | Uint8Array {
  if (stdin === undefined) return "ignore";
  return typeof stdin === "string" ? new TextEncoder().encode(stdin) : "pipe";
}

export type PipedProcess = ReturnType<typeof spawnPiped>;

/**
 * Drains both streams at once, enforces the wall clock, the output budget and the watchdog, and builds the
 * result. Every kill reaches the process group and, for a sandbox, its pid namespace; reading stops
 * OUTPUT_GRACE_MS after the process exited, so the run always returns.
 */
export async function superviseRun(
  proc: PipedProcess,
  options: { abortSignal?: AbortSignal; timeoutMs: number; limits: SandboxLimits },
  startExtraWatch?: (kill: (reason: string) => void) => Watchdog,
): Promise<SandboxResult> {
  const { limits, timeoutMs } = options;
  const started = performance.now();
  const stdout = new OutputCapture("stdout", limits.outputBytes);
  const stderr = new OutputCapture("stderr", limits.outputBytes);
  let timedOut = false;
  let isCanceled = false;
  let killReason: string | undefined;
  let namespace: string | undefined;
  const killAll = () => {
    // Note the sandbox's pid namespace first: after bwrap dies its children list is gone.
    namespace ??= sandboxPidNamespace(proc.pid);
    // Only while Bun has not reaped it: after that the pid, and so the group id, may belong to someone else.
    if (proc.exitCode === null && proc.signalCode === null) {
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // The group is gone already.
      }
      proc.kill("SIGKILL");
    }
    if (namespace) killNamespace(namespace);
  };
  const kill = (reason: string) => {
    killReason ??= reason;
    killAll();
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
  const stopReading = new AbortController();
  const drained = Promise.all([
    drainInto(proc.stdout as ReadableStream<Uint8Array>, stdout, onBytes, stopReading.signal),
    drainInto(proc.stderr as ReadableStream<Uint8Array>, stderr, onBytes, stopReading.signal),
  ]);
  let orphanHeldPipes = false;
  try {
    await proc.exited;
    // A timer that is cleared once the pipes drain: an uncancellable sleep kept the process alive 1 s after every run.
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"grace-over">((resolve) => {
      graceTimer = setTimeout(() => resolve("grace-over"), OUTPUT_GRACE_MS);
    });
    const outcome = await Promise.race([drained, grace]);
    clearTimeout(graceTimer);
    if (outcome === "grace-over") {
      orphanHeldPipes = true;
      stopReading.abort();
      await drained;
      if (namespace) killNamespace(namespace);
    }
  } finally {
    clearTimeout(timer);
    watchdog?.stop();
    options.abortSignal?.removeEventListener("abort", onAbort);
  }
  if (namespace) await waitUntilEmpty(namespace);
  const lateVerdict = killReason === undefined ? await watchdog?.finalVerdict() : undefined;
  let stderrText = stderr.text();
  const note = (text: string) => `${stderrText && !stderrText.endsWith("\n") ? "\n" : ""}[sandbox: ${text}]\n`;
  if (killReason) stderrText += note(`killed because ${killReason}`);
  else if (lateVerdict) stderrText += note(`when the command ended, ${lateVerdict}`);
  if (orphanHeldPipes && !killReason) {
    stderrText += note(`a process it left behind still held its output ${OUTPUT_GRACE_MS / 1000} s after it ended; later output was not read`);
  }
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
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  11: "SIGSEGV",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  24: "SIGXCPU",
  25: "SIGXFSZ",
  31: "SIGSYS",
};

// bwrap reports a command killed by signal N as exit code 128 + N, the way a shell does.
function signalFromExitCode(exitCode: number | null): string | null {
  if (exitCode === null || exitCode <= 128) return null;
  return SIGNAL_NAMES[exitCode - 128] ?? null;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
