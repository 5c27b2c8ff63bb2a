import type { Database } from "bun:sqlite";
import { parseToolMetadata, ToolMetadataError } from "../generated-tools/tool-metadata.ts";
import { type ToolDocument, toolDocument } from "./tool-document.ts";
import type { ToolSource } from "./tool-sources.ts";

/** What a refresh changed in the index, and what it skipped (each notice names the file). */
export type RefreshSummary = { added: number; updated: number; removed: number; unchanged: number; notices: string[] };

type Parsed = { source: ToolSource; document: ToolDocument };

/**
 * Brings the index in line with `sources`: an entry whose content hash (git blob id) is unchanged is left
 * alone, a new or changed one is validated with the generated tool's schema and indexed, a vanished or now
 * invalid one is removed. All writes happen in one transaction.
 */
export async function refreshIndex(database: Database, sources: readonly ToolSource[], signal?: AbortSignal): Promise<RefreshSummary> {
  const known = new Map(
    database
      .query<{ key: string; blob: string }, []>("SELECT key, blob FROM tools")
      .all()
      .map((row) => [row.key, row.blob]),
  );
  const notices: string[] = [];
  const changed: Parsed[] = [];
  const invalid: string[] = [];
  let unchanged = 0;
  for (const source of sources) {
    signal?.throwIfAborted();
    if (known.get(source.key) === source.blob) {
      unchanged += 1;
      continue;
    }
    try {
      const metadata = parseToolMetadata(await source.read(), source.label);
      if (metadata.spec.name !== source.name) {
        throw new ToolMetadataError(
          `${source.label}: spec.name ${JSON.stringify(metadata.spec.name)} is not its folder's name ${JSON.stringify(source.name)}`,
        );
      }
      changed.push({ source, document: toolDocument(metadata) });
    } catch (error) {
      if (!(error instanceof ToolMetadataError)) throw error;
      notices.push(`skipped ${error.message}`);
      invalid.push(source.key);
    }
  }
  const present = new Set(sources.map((source) => source.key));
  const gone = [...known.keys()].filter((key) => !present.has(key) || invalid.includes(key));
  let added = 0;
  database.transaction(() => {
    const idOf = database.query<{ id: number }, [string]>("SELECT id FROM tools WHERE key = ?");
    const deleteTool = database.query("DELETE FROM tools WHERE id = ?");
    const deleteText = database.query("DELETE FROM tools_fts WHERE rowid = ?");
    const upsert = database.query<{ id: number }, [string, string, string, string | null, string, string, string, string]>(
      `INSERT INTO tools (key, name, origin, branch, blob, description, embed_text, embed_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET name = excluded.name, origin = excluded.origin, branch = excluded.branch, blob = excluded.blob,
         description = excluded.description, embed_text = excluded.embed_text, embed_hash = excluded.embed_hash
       RETURNING id`,
    );
    const insertText = database.query("INSERT INTO tools_fts (rowid, name, description, fields, examples) VALUES (?, ?, ?, ?, ?)");
    for (const key of gone) {
      const id = idOf.get(key)?.id;
      if (id === undefined) continue;
      deleteText.run(id);
      deleteTool.run(id);
    }
    for (const { source, document } of changed) {
      const before = idOf.get(source.key)?.id;
      if (before === undefined) added += 1;
      else deleteText.run(before);
      const row = upsert.get(
        source.key,
        source.name,
        source.origin,
        source.branch ?? null,
        source.blob,
        document.description,
        document.embedText,
        document.embedHash,
      );
      insertText.run(row?.id ?? null, document.name.replace(/_/g, " "), document.description, document.fields, document.examples);
    }
    if (gone.length > 0 || changed.length > 0) database.run("DELETE FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM tools)");
  })();
  return { added, updated: changed.length - added, removed: gone.length, unchanged, notices };
}
