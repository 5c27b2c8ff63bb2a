import { closeSync, existsSync, mkdirSync, realpathSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { sleep } from "../concurrency/sleep.ts";
import { type BwrapPlan, bwrapCommand, LAUNCHER_ENV, limitsCommand, rootMountTable } from "./bwrap-argv.ts";
import { handOverLine, WAITER_SHELL } from "./hand-over.ts";
import { type EgressKit, egressKit, egressRunsDir, startEgress } from "./egress-run.ts";
import { launcherGate } from "./launcher-scripts.ts";
import { openScratch } from "./open-scratch.ts";
import { MAX_RESET_DEPTH, resetScratchModes } from "./reset-scratch-modes.ts";
import { startWatchdog } from "./run-watchdog.ts";
import { resolveLimits } from "./sandbox-limits.ts";
import type { SandboxOptions } from "./sandbox-options.ts";
import { DEFAULT_SANDBOX_POLICY, type SandboxPolicy, SandboxPolicyError } from "./sandbox-policy.ts";
import { SandboxPool } from "./sandbox-pool.ts";
import type { SandboxResult } from "./sandbox-result.ts";
import { prepareSandboxSupport } from "./sandbox-support.ts";
import { TreeMeasurer } from "./measure-tree.ts";
import { planFor, poolKey, spawnLauncher, startWaiting } from "./spawn-launcher.ts";
import { type PipedProcess, RunKiller, spawnPiped, superviseRun } from "./supervise-run.ts";
import { OrgError } from "../errors/org-error.ts";

const INSTALL_HINT = "Install it with: apt-get install -y bubblewrap (Debian/Ubuntu) or dnf install bubblewrap (Fedora).";

/** bwrap is missing or cannot create namespaces here; nothing ran. Never falls back to running unsandboxed. */
export class SandboxUnavailableError extends OrgError {
  override name = "SandboxUnavailableError";
}

/** A run's `ready` said no: its sandbox was ended before its command ran; make the mounts again and run it again. */
export class StaleMountsError extends Error {
  override name = "StaleMountsError";
}

/**
 * What one org process keeps between sandboxed runs: whether a sandbox is known to work here, the probe under way,
 * the bound on runs at once, the sandboxes started ahead of need, the support directory, the walks of scratch. Policy
 * comes with each run; state stays here.
 */
export class Sandbox {
  /** Sandboxes started ahead of need, waiting for a call like the one before. */
  readonly pool = new SandboxPool();
  /** What the watchdogs of this sandbox's runs walk scratch with. */
  readonly trees = new TreeMeasurer();
  #supportDir: string | undefined;
  #egressKit: EgressKit | undefined;
  // A bound on sandboxes running at once, so several models calling tools cannot overload the host.
  private readonly slots = new FifoSemaphore(4);
  private availability: Promise<void> | undefined;
  /** A sandbox has started here: a run (or the probe) got as far as its command. */
  private confirmed = false;
  private toolsFound = false;
  private waiterShell: boolean | undefined;
  /** The key of the last pooled call (or prestart): a call with the same key is a repeat, worth a waiting sandbox. */
  private lastKey: string | undefined;
  private launched = 0;

  /**
   * How many sandboxes ran a command, the probe included (read by a test: a first call launches one). Sandboxes
   * started ahead of need count when they are handed their command.
   */
  get launches(): number {
    return this.launched;
  }

  /** The seccomp program and synthetic /etc every sandbox mounts (sandbox-support.ts), made at the first run. */
  get supportDir(): string {
    this.#supportDir ??= prepareSandboxSupport();
    return this.#supportDir;
  }

  /**
   * Where every run given egress takes its files from (`egress-run.ts`): this user's private folder for the runs' own
   * (`egressRunsDir`), found at the first such run (and again if it was removed), the support dir's forwarders and
   * org's bun.
   */
  get egressKit(): EgressKit {
    if (this.#egressKit === undefined || !existsSync(this.#egressKit.folder)) {
      this.#egressKit = egressKit(egressRunsDir(), this.supportDir, realpathSync(process.execPath));
    }
    return this.#egressKit;
  }

  /** Resolves when bwrap can start a sandbox here; rejects with SandboxUnavailableError saying what is missing. */
  ensureAvailable(): Promise<void> {
    if (this.confirmed) return Promise.resolve();
    this.availability ??= this.probe().catch((error) => {
      this.availability = undefined;
      throw error;
    });
    return this.availability;
  }

  /**
   * Runs `argv` in bubblewrap with no network (unless asked and allowed), a read-only system, private /tmp and
   * /dev/shm, one writable scratch dir, a scrubbed environment, seccomp, rlimits, a wall-clock kill and output
   * caps. Command failures, timeouts and limit kills are results; only a sandbox that cannot start throws.
   */
  async run(options: SandboxOptions): Promise<SandboxResult> {
    const { policy } = options;
    if (options.argv.length === 0) throw new RangeError("a sandboxed run needs a command (argv is empty)");
    const timeoutMs = options.timeoutMs ?? policy.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new RangeError(`a sandboxed run needs a positive timeoutMs, got ${options.timeoutMs}`);
    }
    checkNetwork(options, policy);
    checkEnvironment(options.env, policy.secretValues);
    if (!policy.enabled) return runUnsandboxed(options, policy);
    this.checkToolsInstalled();
    // Under a policy with egress rules, a run that asks for it reaches the network through org's egress guard only.
    if (options.egress === undefined || policy.egress === undefined || options.network) return this.runInSlot(options);
    const egress = await startEgress(policy.egress, options.egress, policy.secretValues, this.egressKit);
    let result: SandboxResult;
    try {
      result = await this.runInSlot({
        ...options,
        argv: egress.wrap(options.argv),
        env: { ...options.env, ...egress.env },
        readOnlyMounts: [...(options.readOnlyMounts ?? []), ...egress.mounts],
      });
    } finally {
      await egress.end();
    }
    const summary = egress.guard.summary();
    return summary === undefined ? result : { ...result, egress: summary };
  }

  private async runInSlot(options: SandboxOptions): Promise<SandboxResult> {
    let release: () => void;
    try {
      release = await this.slots.acquire({ signal: options.abortSignal });
    } catch {
      return canceledBeforeStart(); // aborted while queued: the only way acquire without a timeout rejects
    }
    let result: SandboxResult;
    try {
      if (options.abortSignal?.aborted) return canceledBeforeStart();
      result = await this.spawn(options, true);
    } finally {
      release();
    }
    // No probe before the first run (it cost a whole second sandbox): a run that succeeded proves the sandbox
    // works; one that failed before any sandbox was known to work is checked by the probe, which throws if bwrap
    // itself could not start, so the failure is never mistaken for the command's.
    if (result.exitCode === 0) this.confirmed = true;
    else if (!this.confirmed && !result.isCanceled && !result.timedOut) await this.ensureAvailable();
    return result;
  }

  /**
   * Starts, in the background, the sandbox a call with these options would be handed, so that even a session's
   * first call pays none of bwrap's set-up: call it when a session opens, long before its first tool call. It
   * makes scratch as that call would. Nothing happens when the pool is off, the sandbox is disabled or not
   * installed, or such a call could not be handed over (extra `env`); any failure is left for the call to report.
   */
  prestart(options: Omit<SandboxOptions, "argv" | "stdin" | "abortSignal">): void {
    const { policy } = options;
    if (!policy.enabled || !this.poolUsable(options.env ?? {}, policy)) return;
    try {
      this.checkToolsInstalled();
      checkNetwork(options, policy);
      checkEnvironment(options.env, policy.secretValues);
      const dropRoot = isRoot();
      const timeoutMs = options.timeoutMs ?? policy.timeoutMs;
      const plan = planFor(options, resolveLimits(options.limits, timeoutMs, policy.limits), dropRoot, this.supportDir);
      const scratch = openScratch(options.scratchDir, dropRoot);
      closeSync(scratch.fd);
      const key = poolKey(plan, scratch.directory);
      this.lastKey = key;
      this.pool.refill(key, () => startWaiting(plan, scratch.directory, key), policy.poolSize);
    } catch {
      // The first call meets the same problem and reports it.
    }
  }

  private checkToolsInstalled(): void {
    if (this.toolsFound) return;
    for (const tool of ["bwrap", "prlimit"]) {
      if (!Bun.which(tool, { PATH: LAUNCHER_ENV.PATH })) {
        const hint = tool === "bwrap" ? INSTALL_HINT : "Install util-linux, which provides it.";
        throw new SandboxUnavailableError(`the sandbox cannot run: ${tool} is not installed. ${hint}`);
      }
    }
    this.toolsFound = true;
  }

  private async probe(): Promise<void> {
    this.checkToolsInstalled();
    const scratch = join(this.supportDir, "probe-scratch");
    // Whether bwrap starts at all: the default bounds are enough for /bin/true, whatever policy a caller runs under.
    const result = await this.spawn({ argv: ["/bin/true"], scratchDir: scratch, timeoutMs: 10_000, policy: DEFAULT_SANDBOX_POLICY }, false);
    if (result.exitCode !== 0) {
      const detail = result.stderr.trim() || `exit code ${result.exitCode}`;
      throw new SandboxUnavailableError(
        `the sandbox cannot run: bwrap could not create its namespaces (${detail}). ` +
          "On Ubuntu 23.10+ allow unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=0 " +
          "or an AppArmor profile for bwrap); inside Docker, run with a seccomp profile that allows them. " +
          INSTALL_HINT,
      );
    }
    this.confirmed = true;
  }

  private async spawn(options: SandboxOptions, pooling: boolean): Promise<SandboxResult> {
    const { policy } = options;
    const timeoutMs = options.timeoutMs ?? policy.timeoutMs;
    const limits = resolveLimits(options.limits, timeoutMs, policy.limits);
    const dropRoot = isRoot();
    const scratch = openScratch(options.scratchDir, dropRoot);
    this.launched += 1;
    try {
      const { ready } = options;
      const planned = planFor(options, limits, dropRoot, this.supportDir);
      // A run with `ready` starts its own launcher, which waits at its gate for `ready`'s answer.
      const plan = ready ? { ...planned, gateFd: launcherGate(rootMountTable(planned, scratch.directory) !== undefined) } : planned;
      const handOver = pooling && !ready ? this.handOverFor(options, plan, policy, scratch.directory) : undefined;
      // As root, the launcher drops to the dedicated uid itself (setpriv, no supplementary groups) once scratch
      // is mounted: root would keep capabilities and be exempt from RLIMIT_NPROC.
      const waited = handOver && this.handOverToWaiting(handOver, scratch.fd);
      const proc = waited || spawnLauncher(bwrapCommand(plan), options.stdin, plan, scratch);
      if (ready && !(await answerGate(proc, plan.gateFd, ready))) {
        this.launched -= 1;
        throw new StaleMountsError("what the sandbox's mounts were made from changed as it started; its command did not run");
      }
      const result = await superviseRun(proc, { abortSignal: options.abortSignal, timeoutMs, limits }, (kill) =>
        startWatchdog({
          launcherPid: proc.pid,
          scratchDir: scratch.directory,
          scratchBytes: limits.scratchBytes,
          scratchFiles: limits.scratchFiles,
          ...(options.grownMounts ? { grownMounts: options.grownMounts } : {}),
          totalMemoryBytes: limits.totalMemoryBytes,
          measurer: this.trees,
          onLimit: kill,
        }),
      );
      const { tooDeep } = resetScratchModes(scratch.fd);
      if (tooDeep > 0) {
        const separator = result.stderr && !result.stderr.endsWith("\n") ? "\n" : "";
        result.stderr +=
          `${separator}[sandbox: ${tooDeep} directories nested deeper than ${MAX_RESET_DEPTH} ` +
          `levels in scratch were left as they are; delete them]\n`;
      }
      // The next call like this one most likely comes from the same session: its sandbox starts now, once the
      // caller has this result (setImmediate), and only where a sandbox is known to work. Only for a call that
      // repeats (it was handed over, or the call before had the same key): callers that open a new scratch for
      // every run (the toolsmith's stages, the gate) would otherwise pay a second bwrap start per run for nothing.
      const repeated = handOver !== undefined && (waited !== undefined || this.lastKey === handOver.key);
      this.lastKey = handOver?.key;
      if (handOver && repeated) {
        setImmediate(
          () => this.confirmed && this.pool.refill(handOver.key, () => startWaiting(plan, scratch.directory, handOver.key), policy.poolSize),
        );
      }
      return result;
    } finally {
      closeSync(scratch.fd);
    }
  }

  /**
   * What a waiting sandbox needs to take this call: the key its launcher must match and the line it is handed;
   * undefined when the call starts its own (stdin text, extra environment, an argv no line carries, no dash).
   */
  private handOverFor(options: SandboxOptions, plan: BwrapPlan, policy: SandboxPolicy, scratchDirectory: string): HandOver | undefined {
    if (options.stdin !== undefined || !this.poolUsable(plan.env, policy)) return undefined;
    const line = handOverLine([...limitsCommand(plan.limits), ...plan.argv], plan.workingDir);
    if (line === undefined) return undefined;
    return { key: poolKey(plan, scratchDirectory), line };
  }

  /** A waiting sandbox can take a call with this environment: the pool is on, dash is there, no extra `env`. */
  private poolUsable(env: Record<string, string>, policy: SandboxPolicy): boolean {
    if (policy.poolSize === 0 || this.pool.capacity === 0 || Object.keys(env).length > 0) return false;
    this.waiterShell ??= existsSync(WAITER_SHELL);
    return this.waiterShell;
  }

  /** The waiting sandbox for this call, handed its command; undefined when none waits (or it no longer fits). */
  private handOverToWaiting(handOver: HandOver, scratchFd: number): PipedProcess | undefined {
    const waiting = this.pool.take(handOver.key, scratchFd);
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
}

/**
 * What a part that runs model-made code is handed where org is assembled: the process's one Sandbox (its probe, its
 * bound on runs at once, its pool) and the policy every run of it goes under.
 */
export type SandboxAccess = { sandbox: Sandbox; sandboxPolicy: SandboxPolicy };

/**
 * Asks `ready` while the launcher starts, and tells the launcher's gate (`gateFd`) the answer: "go", or "no" (also when
 * `ready` throws), then closes org's end. On a no, waits for the launcher, which ends without starting bwrap (one that
 * hangs before its gate is killed).
 */
async function answerGate(proc: PipedProcess, gateFd: number | undefined, ready: () => boolean): Promise<boolean> {
  const end = gateFd === undefined ? undefined : proc.stdio[gateFd];
  if (typeof end !== "number") {
    proc.kill("SIGKILL");
    throw new Error(`the sandbox launcher got no gate at fd ${gateFd}; this Bun cannot give extra pipes to a child`);
  }
  let holds = false;
  try {
    holds = ready();
  } finally {
    try {
      writeSync(end, holds ? "go\n" : "no\n");
    } catch {
      // The launcher is gone already: its exit is the run's result.
    }
    closeSync(end);
    // On a no, a check that threw included, the launcher ends without starting bwrap: waited for, killed if it hangs.
    if (!holds) await launcherEnded(proc);
  }
  return holds;
}

/** How long a launcher told "no" may take to end before its process group is killed: it has nothing left to do. */
const GATE_NO_EXIT_MS = 5_000;

/** The launcher's exit after a "no"; one that hangs before its gate (a mount that never returns) is killed. */
async function launcherEnded(proc: PipedProcess): Promise<void> {
  const ended = new AbortController();
  const exited = await Promise.race([proc.exited.then(() => true), sleep(GATE_NO_EXIT_MS, ended.signal).then(() => false)]);
  ended.abort();
  if (exited) return;
  new RunKiller(proc).kill("it hung before its gate");
  await proc.exited;
}

/** Whether org runs as root (the launcher then drops to the sandbox's own uid). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
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

function checkNetwork(options: { network?: boolean }, policy: SandboxPolicy): void {
  if (options.network && !policy.network) {
    throw new SandboxPolicyError(
      "this run asks for the host's network, which its sandbox policy does not allow: leave out network: " +
        "true, or run it under a policy with network: true",
    );
  }
}

function checkEnvironment(env: Record<string, string> | undefined, secretValues: readonly string[]): void {
  if (!env) return;
  const secrets = new Set(secretValues);
  for (const [name, value] of Object.entries(env)) {
    if (secrets.has(value)) throw new Error(`refusing to pass ${name} into the sandbox: its value is one of org's secrets`);
  }
}

type HandOver = { key: string; line: string };

/** `ORG_SANDBOX=off`: the user chose to run model-made commands on the host. Said loudly, every time. */
async function runUnsandboxed(options: SandboxOptions, policy: SandboxPolicy): Promise<SandboxResult> {
  process.stderr.write(
    `org: WARNING: ORG_SANDBOX=off — running a model-made command UNSANDBOXED on this host: ${JSON.stringify(options.argv).slice(0, 200)}\n`,
  );
  const timeoutMs = options.timeoutMs ?? policy.timeoutMs;
  const limits = resolveLimits(options.limits, timeoutMs, policy.limits);
  const scratchDir = resolve(options.scratchDir);
  if (!existsSync(scratchDir)) mkdirSync(scratchDir, { recursive: true, mode: 0o700 });
  const proc = spawnPiped(options.argv, options.stdin, {
    env: { ...LAUNCHER_ENV, HOME: scratchDir, LANG: "C.UTF-8", ...options.env },
    cwd: scratchDir,
  });
  return superviseRun(proc, { abortSignal: options.abortSignal, timeoutMs, limits });
}
