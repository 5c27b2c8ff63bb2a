import { statSync } from "node:fs";
import { join } from "node:path";
import { GROW_DIR, MEMORY_DIR, USAGE_DIR } from "../config/workspace-paths.ts";
import { MAIN_REF } from "../git/ref-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { FITNESS_DIR } from "../fitness/gate-key.ts";
import { SUPERVISOR_DIR } from "../supervise/supervisor-state.ts";
import { listChanges } from "../workspace/change-journal.ts";
import { sseData, sseStream } from "../serve/sse-stream.ts";
import { type Route, route } from "../serve/router.ts";
import { StreamSlots } from "../serve/stream-slots.ts";
import { type ViewChanged, VIEW_NAMES } from "./web-api.ts";

type View = ViewChanged["view"];

/** How often the views' sources are looked at while a page listens. */
const LOOK_EVERY_MS = 1_000;

/** A file's or folder's size and time of change, or "-" when it is not there: what changes when it is written. */
function stamp(path: string): string {
  try {
    const found = statSync(path);
    return `${found.size}:${found.mtimeMs}`;
  } catch {
    return "-";
  }
}

/**
 * Tells the pages that listen (`GET /v1/web/updates`) which view's data changed, so each view reads its route again
 * without a reload: the sources of each view are looked at every second while a page listens (the change journal,
 * the call records, the refs and reports of the candidates, grow's state, the supervisor's database, memory), and an action
 * taken here says so at once (`changed`). Made once per server.
 */
export class ViewUpdates {
  readonly #listeners = new Set<(view: View) => void>();
  readonly #last = new Map<View, string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #looking = false;
  #revision = 0;
  readonly #streams = new StreamSlots();

  /** `maxStreams`: the pages' streams open at once across the server (`serve.streamsPerSession`); the next is a 429. */
  constructor(private readonly sources: { workspaceDir: string; checkoutDir: string; git: RepoGit; maxStreams: number }) {}

  /** How many pages listen now. */
  get streams(): number {
    return this.#streams.open;
  }

  /** Says `view` changed, now. */
  changed(view: View): void {
    this.#revision += 1;
    for (const listener of this.#listeners) listener(view);
  }

  async #fingerprints(): Promise<Record<View, string>> {
    const { workspaceDir, checkoutDir, git } = this.sources;
    const candidates = await git.candidateRefs().then(
      (found) => found.refs.map((ref) => `${ref.branch}@${ref.commit}`).join(","),
      () => "?",
    );
    const main = (await git.resolveCommit(MAIN_REF).catch(() => undefined)) ?? "-";
    const fitness = stamp(join(checkoutDir, FITNESS_DIR));
    return {
      changes: listChanges(workspaceDir)
        .map((record) => `${record.id}${record.undone ?? ""}`)
        .join(","),
      tools: `${stamp(join(checkoutDir, USAGE_DIR, "calls.jsonl"))} ${main}`,
      candidates: `${candidates} ${main} ${fitness} ${this.#revision}`,
      growth: `${stamp(join(workspaceDir, GROW_DIR))} ${stamp(join(workspaceDir, GROW_DIR, "proposals.json"))}`,
      supervisor: `${stamp(join(workspaceDir, SUPERVISOR_DIR, "state.db"))} ${stamp(join(workspaceDir, SUPERVISOR_DIR, "state.db-wal"))}`,
      memory: ["memory.sqlite", "memory.sqlite-wal", "facts.jsonl"].map((file) => stamp(join(workspaceDir, MEMORY_DIR, file))).join(" "),
    };
  }

  async #look(): Promise<void> {
    if (this.#looking) return;
    this.#looking = true;
    try {
      const now = await this.#fingerprints();
      for (const view of VIEW_NAMES) {
        const print = now[view];
        const before = this.#last.get(view);
        this.#last.set(view, print);
        if (before !== undefined && before !== print) for (const listener of this.#listeners) listener(view);
      }
    } finally {
      this.#looking = false;
    }
  }

  #listen(listener: (view: View) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      void this.#look();
      this.#timer = setInterval(() => void this.#look(), LOOK_EVERY_MS);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#last.clear();
      }
    };
  }

  /** `GET /v1/web/updates`: one `data: {"view": …}` frame each time a view's data changed. */
  routes(): Route[] {
    return [
      route(
        "GET",
        "/v1/web/updates",
        ({ request }) => {
          const { maxStreams } = this.sources;
          const release = this.#streams.take(
            maxStreams,
            () =>
              `the web room's views have ${maxStreams} update streams open already, the most one server takes ` +
              "(serve.streamsPerSession); close another tab of the web room and try again.",
          );
          let stop = release;
          const body = sseStream({
            run: (write) =>
              new Promise<void>((resolve) => {
                const unlisten = this.#listen((view) => write(sseData({ view })));
                write(": listening\n\n");
                stop = () => {
                  release();
                  unlisten();
                  resolve();
                };
                if (request.signal.aborted) stop();
                else request.signal.addEventListener("abort", stop, { once: true });
              }),
            cancel: () => stop(),
          });
          return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
        },
        { stream: true },
      ),
    ];
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#listeners.clear();
  }
}
