import type { ReadOnlyMount } from "./bwrap-argv.ts";
import type { EgressRequest } from "./egress-run.ts";
import type { GrowthBound } from "./run-watchdog.ts";
import type { SandboxLimits } from "./sandbox-limits.ts";
import type { SandboxPolicy } from "./sandbox-policy.ts";

/** One sandboxed run: the command, what it may touch, its bounds, and the policy it runs under. */
export type SandboxOptions = {
  /** org's settings for every run (sandbox-policy.ts), as org was assembled with them. */
  policy: SandboxPolicy;
  argv: string[];
  /** Text fed to the command's stdin; without it stdin is /dev/null, so a stray read ends at once. */
  stdin?: string;
  /** Host directory mounted read-write at /scratch (also HOME and cwd); created if missing. */
  scratchDir: string;
  /** The policy's `timeoutMs` when left out. */
  timeoutMs?: number;
  /** Over the policy's limits. */
  limits?: Partial<SandboxLimits>;
  /** Share the host's network: refused unless the policy allows it (invariant 3). */
  network?: boolean;
  /**
   * Reach the network through org's egress guard, under the policy's `egress` rules (none: no network, as without
   * this): who asks, and who answers a host on neither list.
   */
  egress?: EgressRequest;
  /** Host paths shown read-only inside (a runtime, libraries, a generated tool's folder). */
  readOnlyMounts?: readonly ReadOnlyMount[];
  /** Host folders shown writable inside (a private copy of the workspace). */
  writableMounts?: readonly ReadOnlyMount[];
  /** Of those, the ones the watchdog holds to scratch's bounds on what they gain during the run (`GrowthBound`). */
  grownMounts?: readonly GrowthBound[];
  /** Folders inside hidden under an empty read-only tmpfs. */
  maskedDirs?: readonly string[];
  /** Files inside covered by an empty read-only file. */
  maskedFiles?: readonly string[];
  /** Files inside covered by a host file, read-only (a git config without its credentials). */
  coveredFiles?: readonly ReadOnlyMount[];
  /** The command's working directory inside; /scratch when left out. */
  workingDir?: string;
  /** Extra variables for the command; refused if a value is one of the policy's `secretValues`. */
  env?: Record<string, string>;
  abortSignal?: AbortSignal;
  /**
   * Whether what the mounts were made from still holds (the kept walk of secret files behind the masks), asked once
   * the launcher has started: its command runs only on a yes; on a no the sandbox is ended before it and the run
   * throws StaleMountsError, for the caller to make the mounts again. Such a run never takes a sandbox started ahead.
   */
  ready?: () => boolean;
};
