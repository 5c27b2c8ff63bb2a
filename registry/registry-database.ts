import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { preparePrivateDatabase } from "../security/private-state.ts";

/** Where the registry's cache lives, relative to the checkout: deleting it loses nothing. */
export const REGISTRY_DATABASE_PATH = join(ORG_DIR, "registry", "registry.sqlite");

// Stamped into the file so a database that is not the registry's (or an older layout) is recognised.
const APPLICATION_ID = 0x6f726731; // "org1"
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE tools (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('promoted', 'candidate')),
  branch TEXT,
  blob TEXT NOT NULL,
  description TEXT NOT NULL,
  embed_text TEXT NOT NULL,
  embed_hash TEXT NOT NULL
);
CREATE VIRTUAL TABLE tools_fts USING fts5(name, description, fields, examples, tokenize = 'porter unicode61');
CREATE TABLE embeddings (
  hash TEXT NOT NULL,
  model TEXT NOT NULL,
  vector BLOB NOT NULL,
  PRIMARY KEY (hash, model)
) WITHOUT ROWID;
PRAGMA application_id = ${APPLICATION_ID};
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** Whether an error from sqlite means the file is damaged or not a database at all. */
export function isDamagedDatabaseError(error: unknown): boolean {
  return (
    error instanceof Error &&
    /not a database|malformed|corrupt|SQLITE_CORRUPT|SQLITE_NOTADB|disk image/i.test(`${error.message} ${(error as { code?: string }).code ?? ""}`)
  );
}

/** Removes an sqlite database and its -wal, -shm and -journal files. */
export function removeDatabaseFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

function openChecked(path: string): Database {
  // bun:sqlite opens by path: the folder and files are checked (no links, this user's, 0600) first.
  preparePrivateDatabase(path);
  const database = new Database(path, { create: true, strict: true });
  try {
    database.exec("PRAGMA busy_timeout = 5000");
    const applicationId = database.query<{ application_id: number }, []>("PRAGMA application_id").get()?.application_id;
    const version = database.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version;
    const tables = database.query<{ count: number }, []>("SELECT count(*) AS count FROM sqlite_schema").get()?.count ?? 0;
    if (tables === 0) {
      database.exec("PRAGMA journal_mode = WAL");
      database.transaction(() => database.exec(SCHEMA))();
    } else if (applicationId !== APPLICATION_ID || version !== SCHEMA_VERSION) {
      throw new ForeignDatabaseError(`${path} is not a registry database of this org version`);
    } else {
      database.exec("PRAGMA journal_mode = WAL");
    }
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}

/** The file at the registry's path holds something other than this org's registry. */
export class ForeignDatabaseError extends Error {
  override name = "ForeignDatabaseError";
}

/**
 * Opens (creating when missing) the registry database at `path`. A damaged file, or one that is not this
 * org's registry, is deleted and made anew: the registry is a cache. `notices` says when that happened.
 */
export function openRegistryDatabase(path: string): { database: Database; notices: string[] } {
  try {
    return { database: openChecked(path), notices: [] };
  } catch (error) {
    if (!(error instanceof ForeignDatabaseError) && !isDamagedDatabaseError(error)) throw error;
    return { database: recreateRegistryDatabase(path), notices: [rebuiltNotice(path, error)] };
  }
}

/** Deletes the database files at `path` and makes an empty registry there. */
export function recreateRegistryDatabase(path: string): Database {
  removeDatabaseFiles(path);
  return openChecked(path);
}

/** The notice shown when the registry file was thrown away and rebuilt. */
export function rebuiltNotice(path: string, error: unknown): string {
  const reason = error instanceof ForeignDatabaseError ? "was not org's registry" : "was damaged";
  return `the registry database ${path} ${reason} (${error instanceof Error ? error.message : String(error)}); rebuilt it from the tools`;
}
