import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { type DatabaseStamp, isDamagedDatabaseError, openStampedDatabase, removeDatabaseFiles } from "../security/stamped-database.ts";
import { EMBEDDINGS_TABLE } from "./embedding-cache.ts";

/** Where the registry's cache lives, relative to the checkout: deleting it loses nothing. */
export const REGISTRY_DATABASE_PATH = join(ORG_DIR, "registry", "registry.sqlite");
/** The index of the team's offers that grow searches before it builds (`grow/team-offers.ts`): a cache like the other. */
export const OFFER_REGISTRY_DATABASE_PATH = join(ORG_DIR, "registry", "offers.sqlite");

/** How `tools_fts` splits and stems text: a query's words are split the same way (`bm25-ranking.ts`). */
export const FTS_TOKENIZER = "porter unicode61";

// Stamped into the file so a database that is not the registry's (or an older layout) is recognised.
const STAMP: DatabaseStamp = {
  applicationId: 0x6f726731, // "org1"
  schemaVersion: 1,
  schema: `
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
CREATE VIRTUAL TABLE tools_fts USING fts5(name, description, fields, examples, tokenize = '${FTS_TOKENIZER}');
${EMBEDDINGS_TABLE}
`,
};

function openChecked(path: string): Database {
  return openStampedDatabase(path, STAMP, { foreign: (at) => new ForeignDatabaseError(`${at} is not a registry database of this org version`) });
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
