import { closeSync, constants, openSync, readdirSync, readSync } from "node:fs";
import { join } from "node:path";
import { REMEMBERED_LISTINGS_FILE } from "../workspace/remembered-listings.ts";

// What of a `.org/` folder a backup holds: every regular file of org's state, walked without following a link, but
// caches that are rebuilt (the registry), scratch and temporary folders, worktrees, the workspaces of a build's
// instances, lock and temporary files, SQLite's side files, and the backups themselves. SQLite databases are copied
// online (`VACUUM INTO`), never byte for byte. `.org/.gitignore` is made anew wherever `.org/` is.

/** Folders under `.org/` left out, as paths relative to it. */
const LEFT_OUT_DIRS = new Set(["worktrees", "registry", "toolsmith", "scratch", "backups", "grow/instances", "supervisor/tmp"]);
/**
 * Files at the top of `.org/` left out: an older org's MCP confirmations (a backup carries the user's sealed ones in their
 * place), and the secret scan's remembered listings, a cache bound to inodes a restore does not keep.
 */
const LEFT_OUT_TOP_FILES = new Set(["mcp-trust.json", REMEMBERED_LISTINGS_FILE]);
/** Files left out wherever they are: locks, temporary and partial files, SQLite's -wal, -shm and -journal. */
const LEFT_OUT_FILE = /(\.lock|\.tmp|\.partial|-wal|-shm|-journal|\.compacting|\.stale-\d+-\d+|\.damaged-[\w.-]+)$/;
const SQLITE_NAME = /\.(sqlite3?|db)$/;
const SQLITE_MAGIC = "SQLite format 3\0";

/** One file of the state: its path relative to `.org/` (with `/`), where it is, and whether it is a SQLite database. */
export type StateFile = { relative: string; path: string; kind: "file" | "sqlite" };

function isSqlite(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString("latin1") === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/**
 * The state files under the `.org/` folder `orgDir`, in a stable order; a missing folder has none. A database in `held`
 * (open in this process) is never opened to be recognised: closing that descriptor would drop the process's locks.
 */
export function stateFiles(orgDir: string, held: ReadonlySet<string> = new Set()): StateFile[] {
  const found: StateFile[] = [];
  const walk = (relative: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(relative === "" ? orgDir : join(orgDir, relative), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!LEFT_OUT_DIRS.has(path)) walk(path);
      } else if (entry.isFile() && !LEFT_OUT_FILE.test(entry.name) && path !== ".gitignore" && !LEFT_OUT_TOP_FILES.has(path)) {
        const full = join(orgDir, path);
        found.push({ relative: path, path: full, kind: held.has(full) || (SQLITE_NAME.test(entry.name) && isSqlite(full)) ? "sqlite" : "file" });
      }
    }
  };
  walk("");
  return found;
}
