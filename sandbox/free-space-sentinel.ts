import { statfsSync } from "node:fs";

/** How often the free-space sentinel reads statfs while scratch's headroom is small or unknown. */
export const SENTINEL_MS = 10;

/** The longest the sentinel waits between two reads, however much headroom is left. */
export const SENTINEL_MAX_MS = 200;

/**
 * The fastest a sandbox is taken to fill a disk, in bytes a millisecond: 8 GiB a second, more than three times the
 * 2.3 GiB a second a writer of 4 MiB blocks reached into the page cache on the 2-core machine the figure was set on
 * (docs/benchmarks.md, the sandbox call's thirteenth round). A disk seen losing space faster is taken at its own pace.
 */
const FASTEST_WRITE_PER_MS = (8 * 1024 ** 3) / 1000;

/** How long the sentinel's walks may run back to back before they are held to a third of a core. */
const SENTINEL_BURST_MS = 250;

/**
 * The free space of scratch's filesystem, read every few milliseconds (a statfs costs microseconds), sees a
 * fast writer whatever inotify does: once the disk has lost, or at its current pace will have lost by the
 * end of a walk, more than scratch's headroom since the last walk began, a walk is due. Others writing to
 * the same disk only cause early walks, never a verdict.
 *
 * Walks it asks for run back to back for a burst of SENTINEL_BURST_MS, then at no more than a third of a
 * core: a writer filling scratch is caught within the burst, a host busy writing elsewhere costs no more.
 */
export class FreeSpaceSentinel {
  #freeAtWalk: number | undefined;
  #headroomAtWalk: number;
  #lastFree: { bytes: number; at: number } | undefined;
  /** Bytes a millisecond the disk lost between the last two reads. */
  #pace = 0;
  /** Whether a walk has measured the tree since `start`: until then the headroom is a guess. */
  #measured = false;
  #walkCredit = SENTINEL_BURST_MS;
  #creditAt = performance.now();

  constructor(
    readonly scratchDir: string,
    readonly scratchBytes: number,
  ) {
    this.#headroomAtWalk = scratchBytes;
  }

  /** Free bytes on scratch's filesystem; undefined when statfs fails. */
  freeBytes(): number | undefined {
    try {
      const stat = statfsSync(this.scratchDir);
      return stat.bfree * stat.bsize;
    } catch {
      return undefined;
    }
  }

  /** Starts the count from the free space now, before any walk: the whole of scratch's bound taken as headroom. */
  start(): void {
    this.#freeAtWalk = this.freeBytes();
    this.#headroomAtWalk = this.scratchBytes;
    this.#measured = false;
  }

  /** A walk that began with `free` bytes free found `bytes` in scratch: the headroom is counted from there. */
  rebase(free: number | undefined, bytes: number): void {
    this.#measured = true;
    this.#freeAtWalk = free;
    this.#headroomAtWalk = Math.max(0, this.scratchBytes - bytes);
  }

  /**
   * A walk that began with `free` bytes free found `bytes` in the tree, but counted nothing beyond it (the sandbox ran
   * on, its deleted files still open not looked at): the headroom may only shrink. Rebased there, the loss since the
   * last full count that such files explain would be forgotten, and walks every few milliseconds would each see too
   * little of it to ask for the count that finds them.
   */
  narrow(free: number | undefined, bytes: number): void {
    if (this.#freeAtWalk === undefined || free === undefined) {
      this.rebase(free, bytes);
      return;
    }
    this.#measured = true;
    const lostBefore = Math.max(0, this.#freeAtWalk - free);
    this.#headroomAtWalk = Math.min(this.#headroomAtWalk, Math.max(0, this.scratchBytes - bytes) + lostBefore);
  }

  /** A walk took `ms`: it is paid from the burst credit. */
  spend(ms: number): void {
    this.#refill();
    this.#walkCredit -= ms;
  }

  /**
   * What the free space says now, given what the last walk cost: `walk` at once (credit left), `schedule`
   * a spaced walk (credit spent), or undefined while scratch's headroom is not in danger.
   */
  check(walkCostMs: number): "walk" | "schedule" | undefined {
    if (this.#freeAtWalk === undefined) return undefined;
    const free = this.freeBytes();
    if (free === undefined) return undefined;
    const now = performance.now();
    // Bytes per millisecond the disk is losing right now.
    const pace = this.#lastFree && now > this.#lastFree.at ? Math.max(0, this.#lastFree.bytes - free) / (now - this.#lastFree.at) : 0;
    this.#lastFree = { bytes: free, at: now };
    this.#pace = pace;
    // Space someone else frees must not hide what the sandbox takes afterwards.
    this.#freeAtWalk = Math.max(this.#freeAtWalk, free);
    const lostByWalkEnd = this.#freeAtWalk - free + pace * (walkCostMs + SENTINEL_MS);
    if (lostByWalkEnd <= this.#headroomAtWalk) return undefined;
    this.#refill();
    return this.#walkCredit > 0 ? "walk" : "schedule";
  }

  /**
   * How long the next read may wait (after a `check`): as long as the headroom left could not be written even at
   * FASTEST_WRITE_PER_MS (or the disk's own pace, if faster), so a writer no faster than that is seen before it
   * passes the headroom, as a read every SENTINEL_MS would see it, at a fraction of the wake-ups (each of which costs
   * bun more than the statfs). SENTINEL_MS until a walk has measured the tree and while the headroom is small.
   */
  nextCheckMs(): number {
    if (!this.#measured || this.#freeAtWalk === undefined || this.#lastFree === undefined) return SENTINEL_MS;
    // A read from before the last walk began may show more free space than the walk started with: the walk counted that.
    const room = this.#headroomAtWalk - Math.max(0, this.#freeAtWalk - this.#lastFree.bytes);
    const waitMs = room / Math.max(FASTEST_WRITE_PER_MS, this.#pace);
    return Math.min(SENTINEL_MAX_MS, Math.max(SENTINEL_MS, waitMs));
  }

  #refill(): void {
    const now = performance.now();
    this.#walkCredit = Math.min(SENTINEL_BURST_MS, this.#walkCredit + (now - this.#creditAt) / 3);
    this.#creditAt = now;
  }
}
