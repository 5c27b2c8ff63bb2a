import { closeSync } from "node:fs";
import { type EgressRules, egressRules } from "../config/egress-policy.ts";
import { bwrapCommand, type ReadOnlyMount } from "./bwrap-argv.ts";
import type { EgressConnection } from "./egress-guard.ts";
import { type EgressRequest, type EgressSetup, startEgress } from "./egress-run.ts";
import { openScratch } from "./open-scratch.ts";
import { isRoot, type Sandbox, SandboxUnavailableError } from "./run-sandboxed.ts";
import { planFor, spawnLauncher } from "./spawn-launcher.ts";
import { startWatchdog } from "./run-watchdog.ts";
import { resolveLimits, type SandboxLimits } from "./sandbox-limits.ts";
import type { SandboxPolicy } from "./sandbox-policy.ts";
import { type PipedProcess, RunKiller } from "./supervise-run.ts";

/** A process that lives until it is stopped (a sandboxed MCP server), its stdin, stdout and stderr piped to org. */
export type LongRunningProcess = {
  readonly pid: number;
  readonly stdin: Exclude<PipedProcess["stdin"], number | undefined>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves when it has exited: its code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  /** Kills it and everything it started; safe to call again. */
  kill(reason: string): void;
  /** Why it was killed (the first reason given, or the watchdog's), if it was. */
  readonly killedFor: string | undefined;
  /** Lets org exit while it runs (the lifeline then ends it): a browser a session may never close. */
  unref(): void;
};

// A long-running process is bounded by its memory, processes, files and scratch, not by a timeout: RLIMIT_CPU
// follows a day of wall clock (each process counts its own CPU seconds).
const SERVICE_CPU_MS = 24 * 60 * 60 * 1000;
// RLIMIT_AS counts what a runtime reserves, not what it uses: node sizes its heap from it and ran out at 1 GiB (the
// MCP filesystem server did, at 27 MB of heap). A service gets this much even where a policy's limits set less; the
// resident total the watchdog bounds is what counts.
const SERVICE_ADDRESS_SPACE_BYTES = 4 * 1024 * 1024 * 1024;

// What a long-running process may move through the egress guard over its whole life: a day of an MCP server's calls.
const SERVICE_EGRESS_LIMITS = { connections: 10_000, connectionsPerMinute: 600, bytesIn: 8 * 1024 ** 3, bytesOut: 8 * 1024 ** 3 };

/**
 * Starts `argv` in bubblewrap as `Sandbox.run` would (read-only system, private /tmp, one writable scratch, a
 * scrubbed environment, seccomp, rlimits, the watchdog over scratch and memory, org's lifeline), but with stdin,
 * stdout and stderr as pipes for as long as it runs. No network unless `hosts` names some: then its only way out is
 * an egress guard of its own with those hosts as its allow list (on ports 443 and 80), which it reaches through the
 * proxy variables, as a sandboxed run does; its network namespace stays its own. The caller's `env` is passed as
 * given: it is what the user configured for this program. Throws SandboxUnavailableError when the sandbox is off or
 * cannot start here.
 */
export async function startSandboxedProcess(options: ServiceOptions): Promise<LongRunningProcess> {
  if (!options.policy.enabled)
    throw new SandboxUnavailableError("the sandbox is off (ORG_SANDBOX=off), so nothing that asks for it can run; unset ORG_SANDBOX to turn it on");
  await options.sandbox.ensureAvailable();
  const egress = await serviceEgress(options);
  try {
    return spawnService(options, egress);
  } catch (error) {
    await egress?.end();
    throw error;
  }
}

type ServiceOptions = {
  sandbox: Sandbox;
  policy: SandboxPolicy;
  argv: string[];
  scratchDir: string;
  env?: Record<string, string>;
  /** Host names it may reach through the egress guard (`*.example.com` for subdomains). */
  hosts?: readonly string[];
  /** Called as each connection through its egress guard ends (the audit line). */
  onConnection?: (connection: EgressConnection) => void;
  /**
   * Instead of `hosts`: the policy's own egress rules (`sandbox.egress`) and who asks about a host on neither list (the
   * browser: its pages reach what the room's commands may, a new host asked about as any egress is).
   */
  egress?: { rules: EgressRules; request: EgressRequest };
  /** Bounds other than a service's defaults (the browser: its threads count as processes, V8 reserves address space). */
  limits?: Partial<SandboxLimits>;
  /** Tests only: the guard's DNS table, addresses taken as public, and its ports (443 and 80 otherwise). */
  egressSeams?: Pick<EgressRequest, "resolver" | "treatAsPublic"> & { ports?: number[] };
  readOnlyMounts?: readonly ReadOnlyMount[];
  maskedDirs?: readonly string[];
  maskedFiles?: readonly string[];
  coveredFiles?: readonly ReadOnlyMount[];
  workingDir?: string;
};

/** The process's own egress guard, its hosts as the allow list; undefined when it names none (no network). */
async function serviceEgress(options: ServiceOptions): Promise<EgressSetup | undefined> {
  if (options.egress) return startEgress(options.egress.rules, options.egress.request, options.policy.secretValues, options.sandbox.egressKit);
  const hosts = options.hosts ?? [];
  if (hosts.length === 0) return undefined;
  const seams = options.egressSeams;
  return startEgress(
    egressRules({ allow: [...hosts], limits: SERVICE_EGRESS_LIMITS, ...(seams?.ports ? { ports: seams.ports } : {}) }),
    {
      command: options.argv.join(" ").slice(0, 200),
      ...(options.onConnection ? { onConnection: options.onConnection } : {}),
      ...(seams?.resolver ? { resolver: seams.resolver } : {}),
      ...(seams?.treatAsPublic ? { treatAsPublic: seams.treatAsPublic } : {}),
    },
    options.policy.secretValues,
    options.sandbox.egressKit,
  );
}

/** The launcher for `options` spawned with its watchdog; `egress`, when given, is stopped once the process has exited. */
function spawnService(options: ServiceOptions, egress: EgressSetup | undefined): LongRunningProcess {
  const { sandbox } = options;
  const dropRoot = isRoot();
  const limits = resolveLimits({ memoryBytes: SERVICE_ADDRESS_SPACE_BYTES, ...options.limits }, SERVICE_CPU_MS, options.policy.limits);
  const scratch = openScratch(options.scratchDir, dropRoot);
  try {
    const readOnlyMounts = [...(options.readOnlyMounts ?? []), ...(egress?.mounts ?? [])];
    const env = { ...options.env, ...egress?.env };
    const plan = planFor(
      {
        argv: egress ? egress.wrap(options.argv) : options.argv,
        scratchDir: options.scratchDir,
        ...(Object.keys(env).length > 0 ? { env } : {}),
        ...(readOnlyMounts.length > 0 ? { readOnlyMounts } : {}),
        ...(options.maskedDirs ? { maskedDirs: options.maskedDirs } : {}),
        ...(options.maskedFiles ? { maskedFiles: options.maskedFiles } : {}),
        ...(options.coveredFiles ? { coveredFiles: options.coveredFiles } : {}),
        ...(options.workingDir ? { workingDir: options.workingDir } : {}),
      },
      limits,
      dropRoot,
      sandbox.supportDir,
    );
    const proc = spawnLauncher(bwrapCommand(plan), { pipe: true }, plan, scratch);
    const killer = new RunKiller(proc);
    const watchdog = startWatchdog({
      launcherPid: proc.pid,
      scratchDir: scratch.directory,
      scratchBytes: limits.scratchBytes,
      scratchFiles: limits.scratchFiles,
      totalMemoryBytes: limits.totalMemoryBytes,
      measurer: sandbox.trees,
      onLimit: (reason) => killer.kill(reason),
    });
    return longRunning(proc, killer, {
      onExit: () => {
        watchdog.stop();
        void egress?.end();
      },
    });
  } finally {
    closeSync(scratch.fd);
  }
}

/**
 * A piped process (`spawnPiped`, stdin a pipe) as a LongRunningProcess: `kill` goes through `killer` (the process group,
 * and a sandbox's pid namespace) and then `onKill`; `onExit` runs once it has exited.
 */
export function longRunning(proc: PipedProcess, killer: RunKiller, hooks: { onExit?: () => void; onKill?: () => void } = {}): LongRunningProcess {
  const exited = proc.exited.then((code) => {
    hooks.onExit?.();
    return proc.signalCode === null ? code : null;
  });
  const { stdin, stdout, stderr } = proc;
  if (typeof stdin !== "object" || stdin === null) {
    killer.kill("no stdin pipe");
    throw new Error("the launcher got no stdin pipe; this Bun cannot pipe a child's stdin");
  }
  return {
    pid: proc.pid,
    stdin,
    stdout,
    stderr,
    exited,
    kill(reason) {
      killer.kill(reason);
      hooks.onKill?.();
    },
    get killedFor() {
      return killer.reason;
    },
    unref() {
      proc.unref();
    },
  };
}
