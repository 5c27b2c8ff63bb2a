import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { preparePrivateDatabase } from "./private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";

/**
 * What marks an sqlite file under `.org/` as one part's, in one layout: sqlite's application id and user version,
 * stamped into the file with the schema an empty file is given. A file stamped otherwise is another program's, or
 * an older layout.
 */
export type DatabaseStamp = { applicationId: number; schemaVersion: number; schema: string };

/** Whether an error from sqlite means the file is damaged or not a database at all. */
export function isDamagedDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = errorCode(error) ?? "";
  return /not a database|malformed|corrupt|SQLITE_CORRUPT|SQLITE_NOTADB|disk image/i.test(`${error.message} ${code}`);
}

/** Removes an sqlite database and its -wal, -shm and -journal files. */
export function removeDatabaseFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

/** Whether an open database carries `stamp`'s application id and schema version. */
export function carriesStamp(database: Database, stamp: Pick<DatabaseStamp, "applicationId" | "schemaVersion">): boolean {
  const applicationId = database.query<{ application_id: number }, []>("PRAGMA application_id").get()?.application_id;
  const version = database.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version;
  return applicationId === stamp.applicationId && version === stamp.schemaVersion;
}

/**
 * Opens (creating when missing) the database at `path` as org's private state (0600, no links, checked before
 * sqlite opens anything), in WAL mode with a 5 s busy timeout, after running `pragmas`. An empty file is given
 * `stamp.schema` and stamped; a file stamped otherwise throws what `foreign` makes of its path; `check` runs on
 * an existing file (a damage check that throws). The database is closed when anything throws.
 */
export function openStampedDatabase(
  path: string,
  stamp: DatabaseStamp,
  options: { foreign: (path: string) => Error; pragmas?: readonly string[]; check?: (database: Database) => void },
): Database {
  preparePrivateDatabase(path);
  const database = new Database(path, { create: true, strict: true });
  try {
    database.exec("PRAGMA busy_timeout = 5000");
    for (const pragma of options.pragmas ?? []) database.exec(pragma);
    const tables = database.query<{ count: number }, []>("SELECT count(*) AS count FROM sqlite_schema").get()?.count ?? 0;
    if (tables === 0) {
      database.exec("PRAGMA journal_mode = WAL");
      database.transaction(() => {
        database.exec(stamp.schema);
        database.exec(`PRAGMA application_id = ${stamp.applicationId}`);
        database.exec(`PRAGMA user_version = ${stamp.schemaVersion}`);
      })();
      return database;
    }
    if (!carriesStamp(database, stamp)) throw options.foreign(path);
    database.exec("PRAGMA journal_mode = WAL");
    options.check?.(database);
    return database;
  } catch (error) {
    database.close();
    throw error;
  }
}
