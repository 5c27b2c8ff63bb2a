import { type FSWatcher, watch } from "node:fs";
import { FreeSpaceSentinel, SENTINEL_MS } from "./free-space-sentinel.ts";
import type { TreeMeasure, TreeMeasurer } from "./measure-tree.ts";

/** What a watchdog tick found over a limit, as a sentence for the model; undefined while all is well. */
export type WatchdogVerdict = string | undefined;

/** A walk that took less than this is repeated on the calling thread; a longer one goes to the worker. */
const CHEAP_WALK_MS = 2;

/** Above this many directories in scratch at the start of a run, the watchdog polls instead of watching. */
export const MAX_WATCHED_DIRECTORIES = 2000;

/**
 * A tree of at most this many entries at its first walk is polled, not watched, for its first WATCH_AFTER_MS: twenty polls of it
 * (a 10 ms beat for 200 ms, an lstat an entry) cost about what opening and closing the watch does.
 */
export const POLLED_ENTRIES = 64;

/**
 * How long into a run a small tree's inotify watch is opened, each beat polling the tree till then: a command that
 * ends sooner (most of an agent's shell calls) never pays the watch's opening and closing.
 */
export const WATCH_AFTER_MS = 200;

/**
 * One tree a watchdog walks: its bounds, and what a walk of it says against them. `heldOpen`, given the bytes a walk
 * found, counts what the sandbox's processes keep of the tree's disk beyond it (deleted files still open) and judges
 * the sum; it is asked after each walk the sandbox is held for, since such files show only as lost free space.
 */
export type WatchedTree = {
  dir: string;
  maxBytes: number;
  maxEntries: number;
  verdict(tree: TreeMeasure): WatchdogVerdict;
  heldOpen?(treeBytes: number): { bytes: number; verdict: WatchdogVerdict };
};

/**
 * The walks of scratch: one at a time; a change seen during a walk asks for another right after it, spaced
 * so the walks take at most about a fifth of a core. A small tree is walked right here, at once: a round
 * trip to the shared worker, busy with another sandbox's tree, would let a fast writer run further past the
 * limit. Changes come from inotify (`watch`; for a small tree only WATCH_AFTER_MS into the run, each `beat` walking it
 * till then), the poll (`schedule`) and the free-space sentinel (`checkFreeSpace`).
 */
export class ScratchWalks {
  /** Bytes the last walk found, for the deleted-but-open count. */
  treeBytes = 0;
  #stopped = false;
  #walking = false;
  #changedDuringWalk = false;
  #pendingCheck: ReturnType<typeof setTimeout> | undefined;
  #lastScratchCheck = 0;
  /** When `#countHeldOpen` last counted, and what it cost. */
  #lastHeldCount = Number.NEGATIVE_INFINITY;
  #heldCountCost = 0;
  #scratchCheckCost = 0;
  #watcher: FSWatcher | undefined;
  #watchDecided = false;
  /** A small tree's watch waits until `#watchAt`; till then every beat polls it (`beat`). */
  #watchDeferred = false;
  readonly #watchAt = performance.now() + WATCH_AFTER_MS;
  /** Directories the last walk found. */
  #directories = 0;
  readonly #sentinel: FreeSpaceSentinel;
  /** The sandbox is held (SIGSTOP) for the walk the sentinel asked for. */
  #holding = false;

  constructor(
    readonly tree: WatchedTree,
    readonly onVerdict: (verdict: WatchdogVerdict) => void,
    readonly hold: SandboxHold,
    readonly measurer: TreeMeasurer,
  ) {
    // The headroom the sentinel guards is the tree's room to grow: scratch's bound less what the last walk found.
    this.#sentinel = new FreeSpaceSentinel(tree.dir, tree.maxBytes);
  }

  /** Starts the sentinel's count from the free space now; the first walk comes later (`walk`). */
  startSentinel(): void {
    this.#sentinel.start();
  }

  /**
   * How long the next `checkFreeSpace` may wait; during a walk, the shortest wait (its end checks at once anyway), and
   * while the watch is deferred, since each beat then stands in for inotify (`beat`).
   */
  nextCheckMs(): number {
    return this.#walking || this.#watchDeferred ? SENTINEL_MS : this.#sentinel.nextCheckMs();
  }

  /**
   * The watchdog's beat: the free-space sentinel's read, and while the watch is deferred a look at the tree, a walk now
   * if the last one is far enough behind (spaced as `schedule` spaces them), else one scheduled; WATCH_AFTER_MS in, the
   * watch. Small trees only are deferred, and a walk of one reads again only the folders that changed (`reuseListings`).
   */
  beat(): void {
    this.checkFreeSpace();
    if (!this.#watchDeferred || this.#stopped || this.#walking || this.#pendingCheck) return;
    if (performance.now() >= this.#watchAt) {
      this.#watchDeferred = false;
      this.#watch(this.#directories);
    } else if (performance.now() >= this.#lastScratchCheck + this.#walkSpacing()) this.walk();
    else this.schedule();
  }

  /** One walk of the tree, on this thread when walks are cheap and the watch is decided, else on the worker. */
  measure(): Promise<TreeMeasure> | TreeMeasure {
    const { dir, maxBytes, maxEntries } = this.tree;
    return this.#watchDecided && this.#scratchCheckCost < CHEAP_WALK_MS
      ? this.measurer.measure(dir, maxBytes, maxEntries, { reuseListings: true })
      : this.measurer.offThread(dir, maxBytes, maxEntries, { reuseListings: true });
  }

  /** What a walk's result says against the bounds (and remembers its size). */
  judge(tree: TreeMeasure): WatchdogVerdict {
    this.treeBytes = tree.bytes;
    return this.tree.verdict(tree);
  }

  walk(): void {
    clearTimeout(this.#pendingCheck);
    this.#pendingCheck = undefined;
    if (this.#stopped) return;
    this.#walking = true;
    const freeAtStart = this.#sentinel.freeBytes();
    const started = performance.now();
    const tree = this.measure();
    if (tree instanceof Promise) {
      // A walk that fails leaves scratch unbounded: stop the run rather than let it write on unwatched.
      tree.then(
        (measured) => this.#walked(measured, started, freeAtStart),
        (error: unknown) => {
          this.onVerdict(`scratch could not be measured: ${error instanceof Error ? error.message : String(error)}`);
          this.#release();
        },
      );
    } else this.#walked(tree, started, freeAtStart);
  }

  /** A walk soon, spaced after the last one; during a walk, one right after it. */
  schedule(): void {
    if (this.#stopped || this.#pendingCheck) return;
    if (this.#walking) {
      this.#changedDuringWalk = true;
      return;
    }
    const wait = Math.max(0, this.#lastScratchCheck + this.#walkSpacing() - performance.now());
    this.#pendingCheck = setTimeout(() => this.walk(), wait);
  }

  checkFreeSpace(): void {
    if (this.#stopped) return;
    if (this.#walking) {
      // A walk on a worker busy with another tree may take long: the sandbox is held from the moment the disk has
      // lost more than the headroom, and the walk's end counts what it holds open, as for a walk asked for now.
      if (!this.#holding && this.tree.heldOpen && this.#sentinel.check(this.#scratchCheckCost) === "walk") {
        this.#holding = true;
        this.hold.pause();
      }
      return;
    }
    const due = this.#sentinel.check(this.#scratchCheckCost);
    if (due === "walk") {
      // The disk is losing space fast: the sandbox waits while scratch is measured, so however long a busy
      // machine makes the walk, a writer gains only what it wrote before the sentinel saw it.
      this.#holding = true;
      this.hold.pause();
      this.walk();
    } else if (due === "schedule") {
      this.#countHeldOpen();
      this.schedule();
    }
  }

  /**
   * With the walks' credit spent, what the sandbox holds open is counted without a walk or a hold (a few reads a
   * process), spaced as walks are: else deleted files would wait for the 200 ms poll until the credit comes back.
   */
  #countHeldOpen(): void {
    const heldOpen = this.tree.heldOpen;
    const now = performance.now();
    if (!heldOpen || now < this.#lastHeldCount + Math.max(SENTINEL_MS, 4 * this.#heldCountCost)) return;
    const held = heldOpen(this.treeBytes);
    this.#lastHeldCount = performance.now();
    this.#heldCountCost = this.#lastHeldCount - now;
    this.onVerdict(held.verdict);
  }

  stop(): void {
    this.#stopped = true;
    this.#watchDeferred = false;
    this.#release();
    clearTimeout(this.#pendingCheck);
    this.#watcher?.close();
  }

  #walked(tree: TreeMeasure, started: number, freeAtStart: number | undefined): void {
    this.#walking = false;
    this.#lastScratchCheck = performance.now();
    this.#scratchCheckCost = this.#lastScratchCheck - started;
    this.#sentinel.spend(this.#scratchCheckCost);
    const verdict = this.judge(tree);
    // The sentinel saw the disk lose more than the tree had room for: deleted files still open are counted now,
    // the sandbox still held, rather than on the next poll, which a busy machine may run late while a writer
    // fills the disk at gigabytes a second.
    const held = verdict === undefined && this.#holding && !this.#stopped ? this.tree.heldOpen?.(tree.bytes) : undefined;
    // Measured against the free space before the walk: what was written while it ran, counted or not, is
    // then taken as still to come, so the sentinel errs towards walking again. A walk that did not count what the
    // sandbox holds open beyond the tree only narrows the headroom (`narrow`).
    if (held || !this.tree.heldOpen) this.#sentinel.rebase(freeAtStart, tree.bytes + (held?.bytes ?? 0));
    else this.#sentinel.narrow(freeAtStart, tree.bytes);
    this.#directories = tree.directories;
    this.onVerdict(verdict ?? held?.verdict);
    this.#release();
    if (!this.#watchDecided) this.#decideWatch(tree);
    else if (this.#watcher && tree.directories > MAX_WATCHED_DIRECTORIES) {
      this.#watcher.close();
      this.#watcher = undefined;
    }
    this.checkFreeSpace();
    if (this.#changedDuringWalk && !this.#walking) {
      this.#changedDuringWalk = false;
      this.schedule();
    }
  }

  /** The least time from one walk's end to the next one's start: walks take at most about a fifth of a core. */
  #walkSpacing(): number {
    return Math.max(5, 4 * this.#scratchCheckCost);
  }

  /**
   * After the first walk: a tree that walk found small waits WATCH_AFTER_MS to be watched, each beat polling it till
   * then. Opening a recursive watch costs bun a thread and milliseconds on this thread, and closing it more, much of a
   * short command's whole run (docs/benchmarks.md, the sandbox call's fourteenth round); a larger tree is watched at
   * once, its walks too dear to poll.
   */
  #decideWatch(tree: TreeMeasure): void {
    if (tree.entries <= POLLED_ENTRIES && performance.now() < this.#watchAt && !this.#stopped) {
      this.#watchDecided = true;
      this.#watchDeferred = true;
    } else this.#watch(tree.directories);
  }

  /** Lets a held sandbox go on (a sandbox the verdict killed is gone already; SIGCONT does it no harm). */
  #release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.hold.resume();
  }

  /**
   * The recursive watch costs an inotify watch per directory from the host user's budget, and setting it up
   * walks the tree on this thread; a scratch with many directories (a node_modules) is left to the poll and
   * the free-space sentinel.
   */
  #watch(directories: number): void {
    this.#watchDecided = true;
    if (this.#stopped || directories > MAX_WATCHED_DIRECTORIES) return;
    try {
      // Symlinks under scratch are not followed: the watch stays inside the tree the sandbox can write.
      const watcher = watch(this.tree.dir, { recursive: true }, () => this.schedule());
      this.#watcher = watcher;
      watcher.on("error", () => this.#watcher?.close());
    } catch {
      // Out of inotify watches or instances: the poll alone still bounds scratch, only more loosely.
    }
  }
}

/** Holds every process of the sandbox still (SIGSTOP, which nothing can catch) and lets them go on (SIGCONT). */
export type SandboxHold = { pause(): void; resume(): void };
