import { statfsSync } from "node:fs";

/** How often the free-space sentinel reads statfs. */
export const SENTINEL_MS = 10;

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

  /** A walk that began with `free` bytes free found `bytes` in scratch: the headroom is counted from there. */
  rebase(free: number | undefined, bytes: number): void {
    this.#freeAtWalk = free;
    this.#headroomAtWalk = Math.max(0, this.scratchBytes - bytes);
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
    // Space someone else frees must not hide what the sandbox takes afterwards.
    this.#freeAtWalk = Math.max(this.#freeAtWalk, free);
    const lostByWalkEnd = this.#freeAtWalk - free + pace * (walkCostMs + SENTINEL_MS);
    if (lostByWalkEnd <= this.#headroomAtWalk) return undefined;
    this.#refill();
    return this.#walkCredit > 0 ? "walk" : "schedule";
  }

  #refill(): void {
    const now = performance.now();
    this.#walkCredit = Math.min(SENTINEL_BURST_MS, this.#walkCredit + (now - this.#creditAt) / 3);
    this.#creditAt = now;
  }
}
