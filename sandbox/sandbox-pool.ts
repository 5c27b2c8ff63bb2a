import { fstatSync } from "node:fs";
import type { FileSink } from "bun";
import { type PipedProcess, RunKiller } from "./supervise-run.ts";

/**
 * Sandboxes started ahead of need, each waiting in `dash` for one line on its stdin (`hand-over.ts`), so a call
 * pays none of bwrap's set-up. The rules (sandbox/README.md, "Sandboxes started ahead of need"):
 * - single use: a waiting sandbox is taken out of the pool before it is handed a command, and never goes back;
 * - it is handed a call only when its key (the whole launcher command line: mounts, namespaces, network,
 *   environment, seccomp, tmpfs sizes; and the scratch directory) equals the call's, and its scratch is still
 *   the very directory the call's own set-up opened; otherwise the call starts a fresh sandbox as before;
 * - at most `size` (0 to 2) wait, one per key; the oldest goes first; each dies after IDLE_MS unused, with
 *   org (the launcher's lifeline, `bwrap-argv.ts`), or when discarded, and never keeps org running.
 */
export const MAX_POOL_SIZE = 2;

/** A waiting sandbox unused this long is ended: it holds a scratch directory its session may have left. */
const IDLE_MS = 60_000;

/** A sandbox waiting for its command, the pipe it reads it from, and the identity of the scratch mounted into it. */
export type WaitingSandbox = { key: string; proc: PipedProcess; stdin: FileSink; scratch: { dev: number; ino: number } };

type Entry = WaitingSandbox & { idleTimer: ReturnType<typeof setTimeout> };

/** The sandboxes waiting in one org process: state of a `Sandbox` instance (run-sandboxed.ts), not of the module. */
export class SandboxPool {
  private size = MAX_POOL_SIZE;
  private readonly waiting: Entry[] = [];
  private handedOver = 0;

  /** How many sandboxes may wait (0 turns the pool off and ends those waiting; at most MAX_POOL_SIZE). */
  resize(wanted: number): void {
    this.size = Math.max(0, Math.min(MAX_POOL_SIZE, Math.floor(wanted)));
    while (this.waiting.length > this.size) this.discardEntry(this.waiting[0]);
  }

  /** How many sandboxes may wait now. */
  get capacity(): number {
    return this.size;
  }

  /** The host pids of the sandboxes waiting now (bwrap's, or its launcher's), oldest first. */
  waitingPids(): number[] {
    return this.waiting.map((entry) => entry.proc.pid);
  }

  /** How many calls this pool handed to a waiting sandbox. */
  get handOvers(): number {
    return this.handedOver;
  }

  /** Ends every waiting sandbox. */
  discardAll(): void {
    while (this.waiting.length > 0) this.discardEntry(this.waiting[0]);
  }

  /**
   * Takes the sandbox waiting for `key` out of the pool, if it is still alive and its scratch is the directory
   * open at `scratchFd` (same device and inode); one that fails either check is ended. The caller hands it its
   * command at once.
   */
  take(key: string, scratchFd: number): WaitingSandbox | undefined {
    const entry = this.waiting.find((candidate) => candidate.key === key);
    if (!entry) return undefined;
    this.removeEntry(entry);
    const stat = fstatSync(scratchFd);
    const alive = entry.proc.exitCode === null && entry.proc.signalCode === null;
    if (!alive || stat.dev !== entry.scratch.dev || stat.ino !== entry.scratch.ino) {
      discard(entry.proc);
      return undefined;
    }
    entry.proc.ref();
    this.handedOver += 1;
    return entry;
  }

  /**
   * Adds a sandbox for `key` unless the pool is off or one waits for that key already; `start` returns undefined
   * when it cannot start one (its scratch is gone). The oldest waiting sandbox makes room; at most `limit` wait
   * (the run's policy's poolSize) beside the pool's own capacity.
   */
  refill(key: string, start: () => WaitingSandbox | undefined, limit = this.size): void {
    const room = Math.min(this.size, limit);
    if (room === 0 || this.waiting.some((entry) => entry.key === key)) return;
    let started: WaitingSandbox | undefined;
    try {
      started = start();
    } catch {
      // Scratch could not be opened as a run needs it: the next call starts its own sandbox and says why.
    }
    if (!started) return;
    started.proc.unref();
    const entry: Entry = { ...started, idleTimer: setTimeout(() => this.discardEntry(entry), IDLE_MS) };
    entry.idleTimer.unref();
    this.waiting.push(entry);
    // A sandbox that dies while it waits (bwrap could not start) leaves the pool at once.
    entry.proc.exited.then(() => this.removeEntry(entry)).catch(() => {});
    while (this.waiting.length > room) this.discardEntry(this.waiting[0]);
  }

  private removeEntry(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    const index = this.waiting.indexOf(entry);
    if (index !== -1) this.waiting.splice(index, 1);
  }

  private discardEntry(entry: Entry | undefined): void {
    if (!entry) return;
    this.removeEntry(entry);
    discard(entry.proc);
  }
}

/** SIGKILLs a sandbox that never got a command: its process group, and its pid namespace if it has one yet. */
function discard(proc: PipedProcess): void {
  new RunKiller(proc).kill("discarded from the pool");
}
