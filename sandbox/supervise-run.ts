import { drainInto, OutputCapture } from "./output-capture.ts";
import { killNamespace, sandboxPidNamespace, waitUntilEmpty } from "./pid-namespace.ts";
import type { SandboxResult } from "./sandbox-result.ts";
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
 * An extra fd given as "pipe" is one end of a socket pair; `proc.stdio[n]` is org's end, for the caller to close.
 */
export function spawnPiped(
  command: string[],
  stdin: string | undefined | { pipe: true },
  options: { env: Record<string, string>; cwd?: string; extraFds?: (number | "pipe")[]; uid?: number; gid?: number },
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
 * How a run is ended early: the first reason given is kept, and every kill reaches the process group and,
 * for a sandbox, its pid namespace (noted at the first kill: after bwrap dies its children list is gone).
 */
export class RunKiller {
  reason: string | undefined;
  namespace: string | undefined;

  constructor(private readonly proc: PipedProcess) {}

  kill(reason: string): void {
    this.reason ??= reason;
    this.namespace ??= sandboxPidNamespace(this.proc.pid);
    // Only while Bun has not reaped it: after that the pid, and so the group id, may belong to someone else.
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      try {
        process.kill(-this.proc.pid, "SIGKILL");
      } catch {
        // The group is gone already.
      }
      this.proc.kill("SIGKILL");
    }
    if (this.namespace) killNamespace(this.namespace);
  }

  /** Kills what is left in the namespace once more (an orphan that outlived the process), then waits it out. */
  async sweep(orphanHeldPipes: boolean): Promise<void> {
    if (!this.namespace) return;
    if (orphanHeldPipes) killNamespace(this.namespace);
    await waitUntilEmpty(this.namespace);
  }
}

/** The wall-clock timeout and the caller's cancel, each a kill; `disarm` removes both. */
function armDeadlines(killer: RunKiller, timeoutMs: number, abortSignal: AbortSignal | undefined) {
  const state = { timedOut: false, isCanceled: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    killer.kill(`it ran past its ${formatSeconds(timeoutMs)} timeout`);
  }, timeoutMs);
  const onAbort = () => {
    state.isCanceled = true;
    killer.kill("the run was cancelled");
  };
  if (abortSignal?.aborted) onAbort();
  else abortSignal?.addEventListener("abort", onAbort, { once: true });
  const disarm = () => {
    clearTimeout(timer);
    abortSignal?.removeEventListener("abort", onAbort);
  };
  return { state, disarm };
}

/** Both streams drained at once into captures, the run killed past the total output budget; `stop` ends the reading. */
function drainOutputs(proc: PipedProcess, limits: SandboxLimits, killer: RunKiller) {
  const stdout = new OutputCapture("stdout", limits.outputBytes);
  const stderr = new OutputCapture("stderr", limits.outputBytes);
  const onBytes = () => {
    if (stdout.totalBytes + stderr.totalBytes > limits.outputKillBytes) {
      killer.kill(`it wrote more than ${formatBytes(limits.outputKillBytes)} of output`);
    }
  };
  const stopReading = new AbortController();
  const drained = Promise.all([
    drainInto(readable(proc.stdout), stdout, onBytes, stopReading.signal),
    drainInto(readable(proc.stderr), stderr, onBytes, stopReading.signal),
  ]);
  return { stdout, stderr, drained, stop: () => stopReading.abort() };
}

/** A piped stream as Bun gives it, or undefined for a descriptor number (never the case for spawnPiped's). */
function readable(stream: ReadableStream<Uint8Array> | number | undefined): ReadableStream<Uint8Array> | undefined {
  return typeof stream === "number" ? undefined : stream;
}

/**
 * Waits for the process to exit, then for its pipes to drain, at most OUTPUT_GRACE_MS; true when the grace ran
 * out (a process it left behind held the pipes) and reading was stopped.
 */
async function waitForExitAndOutput(proc: PipedProcess, output: { drained: Promise<unknown>; stop(): void }): Promise<boolean> {
  await proc.exited;
  // A timer that is cleared once the pipes drain: an uncancellable sleep kept the process alive 1 s after every run.
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<"grace-over">((resolve) => {
    graceTimer = setTimeout(() => resolve("grace-over"), OUTPUT_GRACE_MS);
  });
  const outcome = await Promise.race([output.drained, grace]);
  clearTimeout(graceTimer);
  if (outcome !== "grace-over") return false;
  output.stop();
  await output.drained;
  return true;
}

/** stderr as kept, with the sandbox's notes after it: why it was killed, a late verdict, an orphan's pipes. */
export function stderrWithNotes(stderr: string, notes: { killReason?: string; lateVerdict?: string; orphanHeldPipes: boolean }): string {
  let text = stderr;
  const note = (line: string) => `${text && !text.endsWith("\n") ? "\n" : ""}[sandbox: ${line}]\n`;
  if (notes.killReason) text += note(`killed because ${notes.killReason}`);
  else if (notes.lateVerdict) text += note(`when the command ended, ${notes.lateVerdict}`);
  if (notes.orphanHeldPipes && !notes.killReason) {
    text += note(`a process it left behind still held its output ${OUTPUT_GRACE_MS / 1000} s after it ended; later output was not read`);
  }
  return text;
}

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
  const started = performance.now();
  const killer = new RunKiller(proc);
  const deadlines = armDeadlines(killer, options.timeoutMs, options.abortSignal);
  const watchdog = startExtraWatch?.((reason) => killer.kill(reason));
  const output = drainOutputs(proc, options.limits, killer);
  let orphanHeldPipes = false;
  try {
    orphanHeldPipes = await waitForExitAndOutput(proc, output);
  } finally {
    deadlines.disarm();
    watchdog?.stop();
  }
  await killer.sweep(orphanHeldPipes);
  const lateVerdict = killer.reason === undefined ? await watchdog?.finalVerdict() : undefined;
  return {
    exitCode: proc.exitCode,
    signal: proc.signalCode === null ? signalFromExitCode(proc.exitCode) : String(proc.signalCode),
    timedOut: deadlines.state.timedOut,
    isCanceled: deadlines.state.isCanceled,
    stdout: output.stdout.text(),
    stderr: stderrWithNotes(output.stderr.text(), { killReason: killer.reason, lateVerdict, orphanHeldPipes }),
    truncated: output.stdout.truncated || output.stderr.truncated,
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
export function signalFromExitCode(exitCode: number | null): string | null {
  if (exitCode === null || exitCode <= 128) return null;
  return SIGNAL_NAMES[exitCode - 128] ?? null;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
