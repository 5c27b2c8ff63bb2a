/** Bounds on one sandboxed run. Every field has a default; callers override only what they need. */
export type SandboxLimits = {
  /**
   * CPU seconds of each process, its threads together (RLIMIT_CPU; every child starts its own count, so the
   * wall-clock timeout is what bounds the whole tree). SIGXCPU at the limit, SIGKILL a second later. Default: the
   * timeout.
   */
  cpuSeconds: number;
  /**
   * Address space of each process (RLIMIT_AS): what a runtime reserves, not what it uses. The resident total
   * (`totalMemoryBytes`) is what bounds memory.
   */
  memoryBytes: number;
  /** Largest file a process may write (RLIMIT_FSIZE; SIGXFSZ beyond it). */
  fileSizeBytes: number;
  /** Processes and threads inside this sandbox (RLIMIT_NPROC, counted per sandbox user namespace). */
  processes: number;
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  openFiles: number;
  /** Size of the private tmpfs on /tmp. */
  tmpBytes: number;
  /** Size of the private tmpfs on /dev/shm. */
  shmBytes: number;
  /** Total bytes of the scratch directory; the watchdog kills the run beyond it. */
  scratchBytes: number;
  /** Number of entries in the scratch directory; the watchdog kills the run beyond it. */
  scratchFiles: number;
  /** Resident memory of all sandbox processes together; the watchdog kills the run beyond it. */
  totalMemoryBytes: number;
  /** Bytes of stdout and of stderr each kept for the caller (head and tail); the middle is cut with a notice. */
  outputBytes: number;
  /** Total output (both streams) after which the run is killed, so a flood cannot run for the whole timeout. */
  outputKillBytes: number;
};

const MiB = 1024 * 1024;

export const DEFAULT_TIMEOUT_MS = 30_000;

export const DEFAULT_LIMITS: Omit<SandboxLimits, "cpuSeconds"> = {
  // node reserves about 1.2 GiB for `npm install` (VmPeak, unbounded): at 1 GiB it ran at the very edge, and a
  // reservation more (a thread's malloc arena on a busy machine) aborted it with std::bad_alloc.
  memoryBytes: 4096 * MiB,
  fileSizeBytes: 64 * MiB,
  processes: 64,
  openFiles: 256,
  tmpBytes: 64 * MiB,
  shmBytes: 8 * MiB,
  scratchBytes: 512 * MiB,
  scratchFiles: 20_000,
  totalMemoryBytes: 2048 * MiB,
  outputBytes: 64 * 1024,
  outputKillBytes: 16 * MiB,
};

/** Fills in `defaults` (a policy's limits) and rejects values that would disable a bound. */
export function resolveLimits(
  partial: Partial<SandboxLimits> | undefined,
  timeoutMs: number,
  defaults: Omit<SandboxLimits, "cpuSeconds"> = DEFAULT_LIMITS,
): SandboxLimits {
  const limits: SandboxLimits = {
    cpuSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)),
    ...defaults,
    ...Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined)),
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`sandbox limit ${name} must be a positive finite number, got ${value}`);
    }
  }
  return limits;
}
