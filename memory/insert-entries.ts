import type { Database } from "bun:sqlite";
import { KnownSecrets } from "../security/known-secrets.ts";
import { redact } from "../security/redact.ts";
import type { MemoryEntry } from "./memory-entry.ts";

/** Puts records into the index and its full-text table, each stored once by its key, with `secrets` hidden. */
export function insertEntries(database: Database, entries: MemoryEntry[], secrets: readonly string[]): void {
  const insert = database.query<{ id: number }, [string, string, string | null, string | null, string, string, string, string, string]>(
    "INSERT OR IGNORE INTO entries (key, kind, session_id, fact_id, persona, time, text, tags, embed_hash) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
  );
  const fts = database.query("INSERT INTO entries_fts (rowid, text, tags) VALUES (?, ?, ?)");
  const known = new KnownSecrets(secrets);
  database.transaction(() => {
    for (const entry of entries) {
      const text = withoutKnownSecrets(entry.text, known);
      const tags = withoutKnownSecrets(entry.tags.join(" "), known);
      const hash = new Bun.CryptoHasher("sha256").update(text).digest("hex");
      const inserted = insert.get(entry.key, entry.kind, entry.sessionId ?? null, entry.factId ?? null, entry.persona, entry.time, text, tags, hash);
      if (inserted) fts.run(inserted.id, text, tags);
    }
  })();
}

/**
 * The transcripts are redacted as they are written and facts as they are saved; a key the config gained since is hidden
 * here too. Only text that holds a known secret's form pays for the full redaction: a rebuild indexes every record.
 */
function withoutKnownSecrets(text: string, known: KnownSecrets): string {
  return known.forms.some((form) => text.includes(form)) ? redact(text, known) : text;
}
