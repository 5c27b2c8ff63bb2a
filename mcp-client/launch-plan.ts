import type { CodeReach } from "./workspace-code.ts";

/**
 * What a start of the server depends on: `files` (each followed through its links, every link recorded, absent ones
 * too), `trees` (folders taken whole: every entry, bounded), `moduleFolders` (folders whose top-level modules an
 * interpreter imports before its own: each `*.py`, `*.pyc`, `*.so` and package `__init__.py` there) and `facts` (what
 * a file says that matters, by label), all host paths; `reaches`, folders it runs code from that no file names; and for
 * an unsandboxed server started from the workspace, `code`: what of the workspace it can load (`workspace-code.ts`).
 */
export type LaunchPlan = {
  files: string[];
  trees: string[];
  moduleFolders: string[];
  facts: Record<string, string>;
  /** Folders the launch runs code relative to without naming a file: inline code's working folder, a project a runner runs. */
  reaches: string[];
  /** Files of the workspace the launch hands the server by name that are not code (`--db notes.db`): its own data, which it writes. */
  data: string[];
  code?: CodeReach;
};
