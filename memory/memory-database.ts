import { Database } from "bun:sqlite";
import { isDamagedDatabaseError, removeDatabaseFiles } from "../registry/registry-database.ts";
import { preparePrivateDatabase } from "../security/private-state.ts";

// Stamped into the file so a database that is not memory's (or an older layout) is recognised.
const APPLICATION_ID = 0x6f72676d; // "orgm"
const SCHEMA_VERSION = 1;

const SCHEMA = `
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
CREATE TABLE embeddings (
  hash TEXT NOT NULL,
  model TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (hash, model)
) WITHOUT ROWID;
CREATE TABLE forgotten (session_id TEXT PRIMARY KEY) WITHOUT ROWID;
PRAGMA application_id = ${APPLICATION_ID};
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** The file at memory's path holds something other than this org's memory. */
export class ForeignMemoryError extends Error {
  override name = "ForeignMemoryError";
}

/** Whether an error from sqlite means the file is damaged, not a database at all, or not memory's layout. */
export function isDamagedMemoryError(error: unknown): boolean {
  if (error instanceof ForeignMemoryError || isDamagedDatabaseError(error)) return true;
  return error instanceof Error && /no such table|no such column/i.test(error.message);
}

export const removeMemoryFiles = removeDatabaseFiles;

/**
 * Opens memory's database at `path` (0600, WAL), making the schema in an empty file. Throws
 * ForeignMemoryError for another program's file and sqlite's own error for a damaged one (checked with
 * `quick_check`, so damage past the header is found at open, not halfway through a session).
 */
export function openMemoryDatabase(path: string): Database {
  preparePrivateDatabase(path);
  const database = new Database(path, { create: true, strict: true });
  try {
    database.exec("PRAGMA busy_timeout = 5000");
    // An index that can be rebuilt: WAL without an fsync per record keeps the room's writes cheap.
    database.exec("PRAGMA synchronous = NORMAL");
    const tables = database.query<{ count: number }, []>("SELECT count(*) AS count FROM sqlite_schema").get()?.count ?? 0;
    if (tables === 0) {
      database.exec("PRAGMA journal_mode = WAL");
      database.transaction(() => database.exec(SCHEMA))();
      return database;
    }
    const applicationId = database.query<{ application_id: number }, []>("PRAGMA application_id").get()?.application_id;
    const version = database.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version;
    if (applicationId !== APPLICATION_ID || version !== SCHEMA_VERSION) {
      throw new ForeignMemoryError(`${path} is not a memory database of this org version`);
    }
    database.exec("PRAGMA journal_mode = WAL");
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
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}
