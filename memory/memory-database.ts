import { Database } from "bun:sqlite";
import { lstatSync, rmSync, statSync } from "node:fs";
import { EMBEDDINGS_TABLE } from "../registry/embedding-cache.ts";
import { carriesStamp, type DatabaseStamp, isDamagedDatabaseError, openStampedDatabase } from "../security/stamped-database.ts";
import { errorCode } from "../concurrency/error-code.ts";

// Stamped into the file so a database that is not memory's (or an older layout) is recognised.
const STAMP: DatabaseStamp = {
  applicationId: 0x6f72676d, // "orgm"
  schemaVersion: 1,
  schema: `
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('message', 'tool-call', 'tool-result', 'fact')),
  session_id TEXT,
  fact_id TEXT,
  persona TEXT NOT NULL,
  time TEXT NOT NULL,
  text TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '',
  embed_hash TEXT NOT NULL
);
CREATE INDEX entries_session ON entries (session_id);
CREATE INDEX entries_fact ON entries (fact_id);
CREATE VIRTUAL TABLE entries_fts USING fts5(text, tags, tokenize = 'porter unicode61');
${EMBEDDINGS_TABLE}
CREATE TABLE forgotten (session_id TEXT PRIMARY KEY) WITHOUT ROWID;
`,
};

/** The file at memory's path holds something other than this org's memory. */
export class ForeignMemoryError extends Error {
  override name = "ForeignMemoryError";
}

/** Whether an error from sqlite means the file is damaged, not a database at all, or not memory's layout. */
export function isDamagedMemoryError(error: unknown): boolean {
  if (error instanceof ForeignMemoryError || isDamagedDatabaseError(error)) return true;
  // A disk I/O error from sqlite is most often a -wal or -shm that is not this file's (its database was
  // deleted and made anew): an index can be rebuilt, so it is treated as damage.
  return error instanceof Error && /no such table|no such column|disk I\/O error|SQLITE_IOERR/i.test(`${error.message} ${errorCode(error) ?? ""}`);
}

/** The -wal, -shm and -journal files of a database at `path` (not the database itself). */
export function removeSidecars(path: string): void {
  for (const suffix of ["-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

/** `device:inode` of a file, or undefined when there is none at the path. */
export function fileIdentity(path: string): string | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.dev}:${stat.ino}` : undefined;
}

/**
 * Opens memory's database at `path` (0600, WAL), making the schema in an empty file. Throws
 * ForeignMemoryError for another program's file and sqlite's own error for a damaged one (checked with
 * `quick_check`, so damage past the header is found at open, not halfway through a session).
 */
export function openMemoryDatabase(path: string): Database {
  return openStampedDatabase(path, STAMP, {
    foreign: (at) => new ForeignMemoryError(`${at} is not a memory database of this org version`),
    // An index that can be rebuilt: WAL without an fsync per record keeps the room's writes cheap. What is
    // deleted (a forgotten fact or session) is overwritten with zeros, in the file and in the WAL's pages.
    pragmas: ["PRAGMA synchronous = NORMAL", "PRAGMA secure_delete = ON"],
    check: checkIntact,
  });
}

/**
 * Checks memory's database at `path` as `openMemoryDatabase` does (its stamp, quick_check, the full-text index's own
 * check), through SQLite alone: nothing else opens the file, so a process that holds it open keeps its locks (closing
 * any other descriptor of the file would drop them). Throws as opening would: ForeignMemoryError, or sqlite's error.
 */
export function checkMemoryFile(path: string, busyTimeoutMs = 5000): void {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) throw new Error(`${path} is not a regular file`);
  const database = new Database(path, { readwrite: true, create: false, strict: true });
  try {
    database.exec(`PRAGMA busy_timeout = ${Math.round(busyTimeoutMs)}`);
    if (!carriesStamp(database, STAMP)) throw new ForeignMemoryError(`${path} is not a memory database of this org version`);
    checkIntact(database);
  } finally {
    database.close();
  }
}

function checkIntact(database: Database): void {
  const check = database.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
  if (check.length !== 1 || check[0]?.quick_check !== "ok") {
    throw new Error(
      `database disk image is malformed: ${check
        .slice(0, 3)
        .map((row) => row.quick_check)
        .join("; ")}`,
    );
  }
  // The full-text index checks itself too: a damaged shadow table shows here, not mid-search.
  database.exec("INSERT INTO entries_fts(entries_fts) VALUES ('integrity-check')");
}
