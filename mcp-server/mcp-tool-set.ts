import { type EventFollower, followWorkspaceEvents } from "../workspace-events/follow-workspace-events.ts";
import { type WorkflowFoldersWatch, watchWorkflowFolders } from "../workflows/watch-workflow-folders.ts";
import { changesPromotedTools } from "../workspace-events/workspace-event.ts";
import type { McpToolEntry } from "./mcp-tool-catalog.ts";

/**
 * The tools an MCP server offers now. `refresh()` reads them again (from `load`) and tells every listener
 * when the list changed (names, schemas or code); `follow` refreshes on a promotion or rollback and on a change of a
 * workflows folder. One refresh at a time, and at most one waiting behind it.
 */
export class McpToolSet {
  #entries: McpToolEntry[] = [];
  #signature = "";
  #loaded = false;
  #listeners = new Set<() => void>();
  #refreshing: Promise<boolean> | undefined;
  /** The refresh that follows the one under way, shared by every call made meanwhile. */
  #next: Promise<boolean> | undefined;
  #followers: EventFollower[] = [];
  #workflowWatches: WorkflowFoldersWatch[] = [];

  constructor(readonly load: () => Promise<McpToolEntry[]>) {}

  entries(): readonly McpToolEntry[] {
    return this.#entries;
  }

  find(name: string): McpToolEntry | undefined {
    return this.#entries.find((entry) => entry.name === name);
  }

  /**
   * Re-reads the tools; true when the list changed (listeners are told). A failing load keeps the last list. A call
   * while a refresh runs gets the next one, after it: the one under way may have read before what the caller knows
   * changed (a promotion's event that came mid-read), and joining it would lose that change until the next event.
   */
  refresh(): Promise<boolean> {
    if (this.#refreshing === undefined) {
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = undefined;
      });
      return this.#refreshing;
    }
    this.#next ??= this.#refreshing
      .catch(() => false)
      .then(() => {
        this.#next = undefined;
        return this.refresh();
      });
    return this.#next;
  }

  async #refresh(): Promise<boolean> {
    const entries = await this.load();
    const signature = entries.map((entry) => entry.signature).join("\n");
    // The first load sets the list; only later changes are news (an empty first list too: a first tool is a change).
    const changed = this.#loaded && signature !== this.#signature;
    this.#loaded = true;
    this.#entries = entries;
    this.#signature = signature;
    if (changed) for (const listener of this.#listeners) listener();
    return changed;
  }

  /** Calls `listener` after each change of the list; returns how to stop. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Refreshes when the event stream of one of `dirs` (the repository's, the workspace's) tells of a promotion or a
   * rollback, or says its reader must re-read state, and when a workflow file of their `workflows/` changes
   * (`watchWorkflows`); no tool or workflow file is read on a clock.
   */
  follow(dirs: readonly string[], onError: (error: unknown) => void): void {
    const refresh = () => void this.refresh().catch(onError);
    this.#followers = [...new Set(dirs)].map((dir) =>
      followWorkspaceEvents(dir, { onEvents: (records) => changesPromotedTools(records) && refresh(), onResync: refresh }),
    );
    this.watchWorkflows(dirs, onError);
  }

  /**
   * Refreshes when a workflow file of `<dir>/workflows/` of one of `dirs` is written, added or removed: by hand, or by
   * any program. org's own writes there are promotions and rollbacks, told in the event stream as well; a person's
   * editor tells nobody, so the folders are watched (`watch-workflow-folders.ts`).
   */
  watchWorkflows(dirs: readonly string[], onError: (error: unknown) => void): void {
    this.#workflowWatches.push(watchWorkflowFolders(dirs, () => void this.refresh().catch(onError)));
  }

  stop(): void {
    for (const follower of this.#followers) follower.stop();
    this.#followers = [];
    for (const watch of this.#workflowWatches) watch.stop();
    this.#workflowWatches = [];
  }
}
