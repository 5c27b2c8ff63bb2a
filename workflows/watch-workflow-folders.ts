import { type FSWatcher, lstatSync, watch } from "node:fs";
import { WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { WORKFLOW_FILE_PATTERN } from "./workflow-file.ts";
import { workflowsFolder } from "./workflow-files.ts";

/** Watches stopped together. */
export type WorkflowFoldersWatch = { stop(): void };

/** A watch that reports nothing it cannot (a folder gone, or one the kernel will not watch any more): never thrown. */
function quietWatch(path: string, onName: (name: string | null) => void): FSWatcher | undefined {
  try {
    const watcher = watch(path, { persistent: false }, (_kind, name) => onName(name === null ? null : String(name)));
    watcher.on("error", () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onChange` when a workflow file of `<dir>/workflows/` of one of `dirs` is written, added, renamed or removed,
 * by org or by a person's editor, and when the folder itself comes, goes or is replaced: a watch of each folder (only
 * a real one: what a link leads to is never read as workflows) and of its parent for the folder's own name. No clock:
 * a change is told when the kernel tells it. Several changes in a row are several calls; the caller reads once per
 * call or coalesces.
 */
export function watchWorkflowFolders(dirs: readonly string[], onChange: () => void): WorkflowFoldersWatch {
  const stops: (() => void)[] = [];
  let stopped = false;
  for (const dir of new Set(dirs)) {
    let folder: FSWatcher | undefined;
    const attach = () => {
      folder?.close();
      folder = undefined;
      if (stopped || !isRealFolder(workflowsFolder(dir))) return;
      folder = quietWatch(workflowsFolder(dir), (name) => {
        if (name === null || WORKFLOW_FILE_PATTERN.test(name)) onChange();
      });
    };
    attach();
    const parent = quietWatch(dir, (name) => {
      if (name !== null && name !== WORKFLOWS_DIR) return;
      attach();
      onChange();
    });
    stops.push(() => {
      parent?.close();
      folder?.close();
    });
  }
  return {
    stop() {
      stopped = true;
      for (const stop of stops) stop();
    },
  };
}

/** Whether `path` is a folder, not a link to one. */
function isRealFolder(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}
