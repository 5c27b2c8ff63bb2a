import { type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { eventJournalPath } from "./event-journal.ts";
import { networkFileSystemOf } from "./network-file-system.ts";

/**
 * How a journal is followed: by watches (the workspace's folder, for its `.org` made, removed or replaced; and `.org`,
 * for the journal written or rotated in), or by a look every so often where no watch can be trusted.
 */
type JournalWatchState =
  | { kind: "watching"; workspace: FSWatcher; folder: FSWatcher | undefined }
  | { kind: "looking"; timer: ReturnType<typeof setInterval>; why: string }
  | { kind: "stopped" };

/** Error codes of a folder that is not there (yet) to watch: the workspace's watch says when it comes. */
const ABSENT = new Set(["ENOENT", "ENOTDIR"]);

/**
 * Calls `onChange` when the event journal of `dir` may have changed: once when it starts, then each time inotify says
 * the journal was written or replaced (a rotation renames a new file onto it) or its folder came or went. No timer runs
 * while the watches hold. Only where they cannot be set up (`watch` throwing: inotify's limits, a filesystem without
 * inotify, a workspace that is not there), where one fails (its `error` event, or the workspace's folder moved or
 * removed under it), or on a network filesystem (whose watch misses other machines' writes without a word) does it
 * look every `lookMs` instead, for good.
 */
export class JournalWatch {
  #state: JournalWatchState;
  readonly #folderPath: string;
  readonly #folderName: string;
  readonly #journalName: string;

  constructor(
    private readonly dir: string,
    private readonly onChange: () => void,
    private readonly lookMs: number,
  ) {
    const journal = eventJournalPath(dir);
    this.#folderPath = dirname(journal);
    this.#folderName = basename(this.#folderPath);
    this.#journalName = basename(journal);
    this.#state = this.#start();
    if (this.#state.kind === "watching") this.#arm();
    else this.onChange();
  }

  /** Watching, looking instead (and why), or stopped. */
  get state(): JournalWatchState["kind"] {
    return this.#state.kind;
  }

  /** Why it looks on a clock; undefined while it watches. */
  get lookingBecause(): string | undefined {
    return this.#state.kind === "looking" ? this.#state.why : undefined;
  }

  stop(): void {
    this.#close();
    this.#state = { kind: "stopped" };
  }

  #start(): JournalWatchState {
    const network = networkFileSystemOf(this.dir);
    if (network !== undefined) return this.#looking(`${this.dir} is on ${network}, where a watch misses other machines' writes`);
    try {
      const { ino } = statSync(this.dir);
      const workspace = watch(this.dir, { persistent: false }, (_kind, name) => {
        if (name === null || String(name) === this.#folderName) this.#arm();
        // The workspace's folder itself moved or removed (inotify names it): the watch is on a folder no longer there.
        else if (String(name) === basename(this.dir) && !sameFolder(this.dir, ino)) this.#fallBack(`${this.dir} was moved or removed`);
      });
      workspace.on("error", () => this.#fallBack("the watch on the workspace failed"));
      return { kind: "watching", workspace, folder: undefined };
    } catch (error) {
      return this.#looking(`${this.dir} could not be watched (${codeOf(error)})`);
    }
  }

  /** (Re)watches `.org`, which may be new, gone or replaced, then says to look: it may hold a journal already. */
  #arm(): void {
    const state = this.#state;
    if (state.kind !== "watching") return;
    state.folder?.close();
    state.folder = undefined;
    try {
      const folder = watch(this.#folderPath, { persistent: false }, (_kind, name) => {
        if (this.#state.kind === "watching" && (name === null || String(name) === this.#journalName)) this.onChange();
      });
      folder.on("error", () => this.#fallBack("the watch on the journal's folder failed"));
      state.folder = folder;
    } catch (error) {
      if (!ABSENT.has(codeOf(error))) {
        this.#fallBack(`${this.#folderPath} could not be watched (${codeOf(error)})`);
        return;
      }
    }
    this.onChange();
  }

  #fallBack(why: string): void {
    if (this.#state.kind !== "watching") return;
    this.#close();
    this.#state = this.#looking(why);
    // What the failed watch may have missed.
    this.onChange();
  }

  #looking(why: string): JournalWatchState {
    const timer = setInterval(this.onChange, this.lookMs);
    timer.unref?.();
    return { kind: "looking", timer, why };
  }

  #close(): void {
    const state = this.#state;
    if (state.kind === "watching") {
      state.folder?.close();
      state.workspace.close();
    } else if (state.kind === "looking") clearInterval(state.timer);
  }
}

function sameFolder(dir: string, ino: number): boolean {
  try {
    return statSync(dir).ino === ino;
  } catch {
    return false;
  }
}

function codeOf(error: unknown): string {
  return errorCode(error) ?? "unknown error";
}
