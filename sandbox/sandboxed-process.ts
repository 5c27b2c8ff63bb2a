import { closeSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bwrapCommand, type ReadOnlyMount } from "./bwrap-argv.ts";
import { openScratch } from "./open-scratch.ts";
import { isRoot, type Sandbox, SandboxUnavailableError } from "./run-sandboxed.ts";
import { planFor, spawnLauncher } from "./spawn-launcher.ts";
import { startWatchdog } from "./run-watchdog.ts";
import { resolveLimits } from "./sandbox-limits.ts";
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
};

// A long-running process is bounded by its memory, processes, files and scratch, not by a timeout: RLIMIT_CPU
// follows a day of wall clock (each process counts its own CPU seconds).
const SERVICE_CPU_MS = 24 * 60 * 60 * 1000;
// RLIMIT_AS counts what a runtime reserves, not what it uses: node sizes its heap from it and runs out at the 1 GiB a
// command gets (the MCP filesystem server did, at 27 MB of heap). The resident total the watchdog bounds is what counts.
const SERVICE_ADDRESS_SPACE_BYTES = 4 * 1024 * 1024 * 1024;

/** A host name the sandbox may resolve, and the addresses org resolved it to before the start. */
export type AllowedHost = { name: string; addresses: readonly string[] };

/**
 * Starts `argv` in bubblewrap as `Sandbox.run` would (read-only system, private /tmp, one writable scratch, a
 * scrubbed environment, seccomp, rlimits, the watchdog over scratch and memory, org's lifeline), but with stdin,
 * stdout and stderr as pipes for as long as it runs. No network unless `hosts` names some: then the sandbox shares
 * the host's network and only those names resolve inside (no resolv.conf; bubblewrap cannot filter addresses, so a
 * program that dials an address itself still reaches it). The caller's `env` is passed as given: it is what the
 * user configured for this program. Throws SandboxUnavailableError when the sandbox is off or cannot start here.
 */
export async function startSandboxedProcess(options: {
  sandbox: Sandbox;
  policy: SandboxPolicy;
  argv: string[];
  scratchDir: string;
  env?: Record<string, string>;
  hosts?: readonly AllowedHost[];
  readOnlyMounts?: readonly ReadOnlyMount[];
  maskedDirs?: readonly string[];
  maskedFiles?: readonly string[];
  coveredFiles?: readonly ReadOnlyMount[];
  workingDir?: string;
}): Promise<LongRunningProcess> {
  if (!options.policy.enabled)
    throw new SandboxUnavailableError("the sandbox is off (ORG_SANDBOX=off), so nothing that asks for it can run; unset ORG_SANDBOX to turn it on");
  const { sandbox } = options;
  await sandbox.ensureAvailable();
  const dropRoot = isRoot();
  const limits = resolveLimits({ memoryBytes: SERVICE_ADDRESS_SPACE_BYTES }, SERVICE_CPU_MS, options.policy.limits);
  const scratch = openScratch(options.scratchDir, dropRoot);
  try {
    const hosts = options.hosts ?? [];
    const plan = {
      ...planFor(
        {
          argv: options.argv,
          scratchDir: options.scratchDir,
          network: hosts.length > 0,
          ...(options.env ? { env: options.env } : {}),
          ...(options.readOnlyMounts ? { readOnlyMounts: options.readOnlyMounts } : {}),
          ...(options.maskedDirs ? { maskedDirs: options.maskedDirs } : {}),
          ...(options.maskedFiles ? { maskedFiles: options.maskedFiles } : {}),
          ...(options.coveredFiles ? { coveredFiles: options.coveredFiles } : {}),
          ...(options.workingDir ? { workingDir: options.workingDir } : {}),
        },
        limits,
        dropRoot,
        sandbox.supportDir,
      ),
      ...(hosts.length > 0 ? { hostsFile: hostsFileFor(hosts, sandbox.supportDir) } : {}),
    };
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
    return longRunning(proc, killer, { onExit: () => watchdog.stop() });
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
  };
}

/** A hosts file of the allowed names in the support directory (which the sandbox's uid can read), named after its content. */
function hostsFileFor(hosts: readonly AllowedHost[], supportDir: string): string {
  const lines = [
    "127.0.0.1 localhost sandbox",
    "::1 localhost ip6-localhost ip6-loopback",
    ...hosts.flatMap((host) => host.addresses.map((address) => `${address} ${host.name}`)),
  ];
  const text = `${lines.join("\n")}\n`;
  const path = join(supportDir, `hosts-${new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16)}`);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, path);
  return path;
}
