import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { MEMORY_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { ftsQuery } from "../registry/fts-query.ts";
import { type Embedder, EmbeddingUnavailableError } from "../registry/ollama-embedder.ts";
import { reciprocalRankFusion } from "../registry/reciprocal-rank-fusion.ts";
import { normalized, storeMissingEmbeddings } from "../registry/embedding-cache.ts";
import { listSessions, readTranscript, transcriptPath } from "../room/transcript.ts";
import type { TranscriptLine } from "../room/transcript-line.ts";
import { KnownSecrets, redact } from "../security/redact.ts";
import { isDamagedMemoryError, openMemoryDatabase, removeMemoryFiles } from "./memory-database.ts";
import { entriesOf, type MemoryEntry } from "./memory-entry.ts";
import { appendPrivateFile, ensureOrgDir, ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { errorCode } from "../concurrency/error-code.ts";

/** The database file under a workspace: an index, rebuilt from the transcripts and facts.jsonl. */
export const MEMORY_DATABASE_FILE = "memory.sqlite";
/** The append-only log of saved facts and of what was forgotten: the one copy memory keeps itself. */
export const FACTS_FILE = "facts.jsonl";

/** One record a search found. */
export type MemoryHit = {
  kind: MemoryEntry["kind"];
  sessionId?: string;
  factId?: string;
  persona: string;
  time: string;
  /** The matching part of the text (whole for short records), redacted when it was stored. */
  snippet: string;
  tags: string[];
  /** Higher is better: BM25 (negated) for full text alone, the fused reciprocal-rank score when blended. */
  score: number;
};

export type MemorySearchOutcome = { method: "fts" | "fts+embeddings"; hits: MemoryHit[]; note?: string };

export type SavedFact = { id: string; text: string; tags: string[]; persona: string; sessionId?: string; time: string };

export type RebuildSummary = { sessions: number; entries: number; facts: number; damagedLines: number };

/** No such session or fact in memory; the message says what to check. */
export class MemoryNotFoundError extends Error {
  override name = "MemoryNotFoundError";
  readonly userFacing = true;
}

const FactLine = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("fact"),
    id: z.string(),
    text: z.string(),
    tags: z.array(z.string()),
    persona: z.string(),
    sessionId: z.string().optional(),
    time: z.string(),
  }),
  z.object({ type: z.literal("forget-fact"), id: z.string(), time: z.string() }),
  z.object({ type: z.literal("forget-session"), sessionId: z.string(), time: z.string() }),
]);
type FactLine = z.infer<typeof FactLine>;

const QUERY_CHARS = 2_000;
const FUSION_DEPTH = 50;
// Documents embedded per search at most: a large memory gets its vectors over several searches.
const EMBED_PER_SEARCH = 512;
const FACT_CHARS = 4_000;
const MAX_TAGS = 16;

type Row = {
  id: number;
  kind: MemoryEntry["kind"];
  session_id: string | null;
  fact_id: string | null;
  persona: string;
  time: string;
  tags: string;
  text: string;
};

/**
 * Memory of a workspace: every message, tool call and tool result of its sessions (redacted, as the
 * transcripts hold them) and the facts personas saved, searchable with FTS5 (BM25), blended with embeddings
 * when an embedder answers. The database is an index: deleted or damaged, it is rebuilt from the transcripts
 * and `facts.jsonl`, with a notice.
 */
export class MemoryStore {
  #database: Database;
  /** Which file the database is (device and inode): one deleted or replaced under this store is noticed. */
  #identity: string | undefined;
  #notices: string[] = [];
  #forgotten = new Set<string>();
  /** The room's secret set (config keys, URL credentials) beside the environment's: nothing stored keeps them. */
  readonly #secrets: readonly string[];
  readonly dir: string;
  readonly databasePath: string;
  readonly factsPath: string;
  readonly sessionsDir: string;

  private constructor(dir: string, sessionsDir: string, database: Database, secrets: readonly string[]) {
    this.dir = dir;
    this.#secrets = secrets;
    this.databasePath = join(dir, MEMORY_DATABASE_FILE);
    this.factsPath = join(dir, FACTS_FILE);
    this.sessionsDir = sessionsDir;
    this.#database = database;
    this.#identity = fileIdentity(this.databasePath);
  }

  /**
   * Opens the memory of `workspaceDir` (`.org/memory/`). A missing database is built from the transcripts on
   * disk (quietly the first time a workspace has memory); a damaged one, or another program's, is deleted and
   * rebuilt. `notices` says when either happened.
   */
  static open(workspaceDir: string, options: { sessionsDir?: string; secrets?: readonly string[] } = {}): { store: MemoryStore; notices: string[] } {
    const dir = join(workspaceDir, MEMORY_DIR);
    // A workspace that never had memory gets it built quietly from its transcripts; a database gone from an
    // existing memory folder was deleted, and that is said.
    const firstTime = !existsSync(dir);
    // `.org/` with its ignore file, so memory made first does not show in the workspace's `git status`.
    ensureOrgDir(workspaceDir);
    ensurePrivateDir(dir);
    const sessionsDir = options.sessionsDir ?? join(workspaceDir, SESSIONS_DIR);
    const path = join(dir, MEMORY_DATABASE_FILE);
    const existed = existsSync(path);
    // A -wal or -shm without its database is what a deleted one left (a room may still hold them open):
    // sqlite would read them as the new file's and fail with a disk I/O error.
    if (!existed) removeSidecars(path);
    let database: Database;
    let reason: string | undefined;
    try {
      database = openMemoryDatabase(path);
    } catch (error) {
      if (!isDamagedMemoryError(error)) throw error;
      removeMemoryFiles(path);
      database = openMemoryDatabase(path);
      reason = `was damaged (${error instanceof Error ? error.message : String(error)})`;
    }
    const store = new MemoryStore(dir, sessionsDir, database, options.secrets ?? []);
    if (reason === undefined && !existed && (listSessions(sessionsDir).length > 0 || existsSync(store.factsPath))) reason = "was missing";
    if (reason !== undefined) {
      const summary = store.#fill();
      if (!firstTime || reason !== "was missing") store.#notices.push(rebuiltNotice(path, reason, summary));
    } else if (store.#isEmpty() && (listSessions(sessionsDir).length > 0 || hasContent(store.factsPath))) {
      // Empty while there is something to remember (made anew by a process that found it gone): filled again.
      const summary = store.#fill();
      if (summary.entries + summary.facts > 0) store.#notices.push(rebuiltNotice(path, "was empty", summary));
    } else {
      store.#loadForgotten();
    }
    return { store, notices: store.takeNotices() };
  }

  /** Notices since the last call: a database rebuilt while in use. */
  takeNotices(): string[] {
    const notices = this.#notices;
    this.#notices = [];
    return notices;
  }

  /** Indexes one transcript line of a session (a no-op for lines with no text to remember). */
  index(sessionId: string, line: TranscriptLine): void {
    if (this.#forgotten.has(sessionId)) return;
    const entries = entriesOf(sessionId, line);
    if (entries.length === 0) return;
    this.#withRepair(() => this.#insert(entries));
  }

  /**
   * Saves a fact, redacted with the store's secrets and `secrets` (the room's set, as the tool call passes it):
   * first to facts.jsonl, the copy a rebuild reads, then to the index.
   */
  save(fact: { text: string; tags?: string[]; persona: string; sessionId?: string; secrets?: readonly string[] }): SavedFact {
    const secrets = [...this.#secrets, ...(fact.secrets ?? [])];
    const saved: SavedFact = {
      id: `f-${new Date()
        .toISOString()
        .replace(/[-:.TZ]/g, "")
        .slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`,
      text: redact(fact.text, secrets).slice(0, FACT_CHARS),
      tags: [...new Set((fact.tags ?? []).map((tag) => redact(tag, secrets).slice(0, 64)))].slice(0, MAX_TAGS),
      persona: fact.persona,
      ...(fact.sessionId !== undefined ? { sessionId: fact.sessionId } : {}),
      time: new Date().toISOString(),
    };
    this.#appendLog({ type: "fact", ...saved });
    this.#withRepair(() => this.#insert([factEntry(saved)]));
    return saved;
  }

  /** Forgets a session: its records leave the index, and a rebuild will not bring them back (the transcript stays). */
  forgetSession(sessionId: string): number {
    const known = this.#withRepair(
      () => this.#database.query<{ count: number }, [string]>("SELECT count(*) AS count FROM entries WHERE session_id = ?").get(sessionId)?.count ?? 0,
    );
    let onDisk = false;
    try {
      onDisk = existsSync(transcriptPath(this.sessionsDir, sessionId));
    } catch {
      onDisk = false; // not a session id at all
    }
    if (known === 0 && !onDisk) throw new MemoryNotFoundError(`memory has no session "${sessionId}"; 'org memory search' shows the session ids it holds.`);
    this.#rewriteLog((line) => !(line.type === "fact" && line.sessionId === sessionId), { type: "forget-session", sessionId, time: new Date().toISOString() });
    this.#forgotten.add(sessionId);
    this.#withRepair(() => this.#deleteWhere("session_id", sessionId));
    this.#purge();
    return known;
  }

  /** Forgets a saved fact: out of the index, and marked forgotten in facts.jsonl so a rebuild leaves it out. */
  forgetFact(factId: string): void {
    const known = this.#withRepair(
      () => this.#database.query<{ count: number }, [string]>("SELECT count(*) AS count FROM entries WHERE fact_id = ?").get(factId)?.count ?? 0,
    );
    if (known === 0) throw new MemoryNotFoundError(`memory has no fact "${factId}"; 'org memory search' shows fact ids (f-…).`);
    this.#rewriteLog((line) => !(line.type === "fact" && line.id === factId), { type: "forget-fact", id: factId, time: new Date().toISOString() });
    this.#withRepair(() => this.#deleteWhere("fact_id", factId));
    this.#purge();
  }

  /**
   * Throws the index away and builds it again from the transcripts on disk and facts.jsonl, in one
   * transaction of the same file (a room of another process that has it open sees the old index or the new
   * one). A file that cannot take it (damaged) is deleted and made anew.
   */
  rebuild(): RebuildSummary {
    try {
      this.#followFile();
      return this.#database.transaction(() => {
        this.#database.exec("DELETE FROM entries_fts; DELETE FROM entries; DELETE FROM forgotten;");
        return this.#fill();
      })();
    } catch (error) {
      if (!isDamagedMemoryError(error)) throw error;
      this.#database.close();
      removeMemoryFiles(this.databasePath);
      this.#database = openMemoryDatabase(this.databasePath);
      this.#identity = fileIdentity(this.databasePath);
      return this.#fill();
    }
  }

  /** How many records the index holds, by kind. */
  counts(): Record<MemoryEntry["kind"], number> {
    const counts = { message: 0, "tool-call": 0, "tool-result": 0, fact: 0 };
    const rows = this.#withRepair(() =>
      this.#database.query<{ kind: MemoryEntry["kind"]; count: number }, []>("SELECT kind, count(*) AS count FROM entries GROUP BY kind").all(),
    );
    for (const row of rows) counts[row.kind] = row.count;
    return counts;
  }

  /**
   * Finds records for `query`, best first: BM25 over its words (any text is a query, never FTS syntax),
   * fused by reciprocal rank with embedding similarity when `embedder` answers; full text alone otherwise,
   * with a note saying why.
   */
  async search(query: string, options: { limit?: number; embedder?: Embedder; signal?: AbortSignal } = {}): Promise<MemorySearchOutcome> {
    const limit = Math.min(100, Math.max(1, Math.floor(options.limit ?? 10)));
    const text = this.#withRepair(() => this.#searchText(query, Math.max(limit, FUSION_DEPTH)));
    if (!options.embedder) return { method: "fts", hits: this.#hits(text.slice(0, limit), query) };
    let similar: number[];
    try {
      similar = await this.#searchVectors(query, options.embedder, options.signal);
    } catch (error) {
      if (!(error instanceof EmbeddingUnavailableError)) throw error;
      return { method: "fts", hits: this.#hits(text.slice(0, limit), query), note: `embeddings not used: ${error.message}` };
    }
    const fused = reciprocalRankFusion([text.map((hit) => hit.id), similar]).slice(0, limit);
    return { method: "fts+embeddings", hits: this.#hits(fused, query) };
  }

  close(): void {
    this.#database.close();
  }

  #searchText(query: string, limit: number): { id: number; score: number }[] {
    const match = ftsQuery(query.slice(0, QUERY_CHARS));
    if (match === undefined) return [];
    return this.#database
      .query<{ id: number; rank: number }, [string, number]>(
        "SELECT rowid AS id, bm25(entries_fts, 1.0, 0.5) AS rank FROM entries_fts WHERE entries_fts MATCH ? ORDER BY rank LIMIT ?",
      )
      .all(match, limit)
      .map((row) => ({ id: row.id, score: -row.rank }));
  }

  async #searchVectors(query: string, embedder: Embedder, signal?: AbortSignal): Promise<number[]> {
    const [queryVector] = await embedder.embed([`search_query: ${query.slice(0, QUERY_CHARS)}`], signal);
    const missing = this.#database
      .query<{ hash: string; text: string }, [string, number]>(
        "SELECT embed_hash AS hash, min(text) AS text FROM entries WHERE embed_hash NOT IN (SELECT hash FROM embeddings WHERE model = ?) GROUP BY embed_hash ORDER BY max(id) DESC LIMIT ?",
      )
      .all(embedder.cacheKey, EMBED_PER_SEARCH);
    await storeMissingEmbeddings(this.#database, embedder, missing, signal);
    if (!queryVector) return [];
    const unit = normalized(queryVector);
    const rows = this.#database
      .query<{ id: number; vector: Uint8Array }, [string]>(
        "SELECT entries.id AS id, embeddings.vector AS vector FROM entries JOIN embeddings ON embeddings.hash = entries.embed_hash AND embeddings.model = ?",
      )
      .all(embedder.cacheKey);
    const scored: { id: number; score: number }[] = [];
    for (const row of rows) {
      if (row.vector.byteLength !== unit.length * 4) continue;
      const vector = new Float32Array(row.vector.slice().buffer);
      // Same length (checked above), so every index reads a number.
      let dot = 0;
      for (let index = 0; index < unit.length; index += 1) dot += (vector[index] ?? 0) * (unit[index] ?? 0);
      scored.push({ id: row.id, score: dot });
    }
    return scored
      .sort((a, b) => b.score - a.score)
      .slice(0, FUSION_DEPTH)
      .map((hit) => hit.id);
  }

  #hits(ranked: readonly { id: number; score: number }[], query: string): MemoryHit[] {
    const match = ftsQuery(query.slice(0, QUERY_CHARS));
    const row = this.#database.query<Row, [number]>("SELECT id, kind, session_id, fact_id, persona, time, tags, text FROM entries WHERE id = ?");
    const snippet = match
      ? this.#database.query<{ snippet: string }, [number, string]>(
          "SELECT snippet(entries_fts, 0, '', '', '…', 32) AS snippet FROM entries_fts WHERE rowid = ? AND entries_fts MATCH ?",
        )
      : undefined;
    return ranked.flatMap(({ id, score }) => {
      const found = row.get(id);
      if (!found) return [];
      const matched = match ? snippet?.get(id, match)?.snippet : undefined;
      return [
        {
          kind: found.kind,
          ...(found.session_id !== null ? { sessionId: found.session_id } : {}),
          ...(found.fact_id !== null ? { factId: found.fact_id } : {}),
          persona: found.persona,
          time: found.time,
          snippet: matched ?? (found.text.length > 300 ? `${found.text.slice(0, 300)}…` : found.text),
          tags: found.tags === "" ? [] : found.tags.split(" "),
          score,
        },
      ];
    });
  }

  #insert(entries: MemoryEntry[]): void {
    const insert = this.#database.query<{ id: number }, [string, string, string | null, string | null, string, string, string, string, string]>(
      "INSERT OR IGNORE INTO entries (key, kind, session_id, fact_id, persona, time, text, tags, embed_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    );
    const fts = this.#database.query("INSERT INTO entries_fts (rowid, text, tags) VALUES (?, ?, ?)");
    const known = new KnownSecrets(this.#secrets);
    this.#database.transaction(() => {
      for (const entry of entries) {
        const text = withoutKnownSecrets(entry.text, known);
        const tags = withoutKnownSecrets(entry.tags.join(" "), known);
        const hash = createHash("sha256").update(text).digest("hex");
        const inserted = insert.get(entry.key, entry.kind, entry.sessionId ?? null, entry.factId ?? null, entry.persona, entry.time, text, tags, hash);
        if (inserted) fts.run(inserted.id, text, tags);
      }
    })();
  }

  #deleteWhere(column: "session_id" | "fact_id", value: string): void {
    this.#database.transaction(() => {
      this.#database.query(`DELETE FROM entries_fts WHERE rowid IN (SELECT id FROM entries WHERE ${column} = ?)`).run(value);
      this.#database.query(`DELETE FROM entries WHERE ${column} = ?`).run(value);
      if (column === "session_id") this.#database.query("INSERT OR IGNORE INTO forgotten (session_id) VALUES (?)").run(value);
    })();
  }

  /**
   * Runs `work` on the database file at the path now: one deleted meanwhile (the README's recovery step, with
   * a room open) is made anew from the transcripts and facts.jsonl, one replaced (another org rebuilt it) is
   * reopened, each with a notice. A database found damaged is rebuilt (with a notice) and `work` runs again.
   */
  #withRepair<T>(work: () => T): T {
    this.#followFile();
    try {
      return work();
    } catch (error) {
      if (!isDamagedMemoryError(error)) throw error;
      const summary = this.rebuild();
      this.#notices.push(rebuiltNotice(this.databasePath, `was damaged (${error instanceof Error ? error.message : String(error)})`, summary));
      return work();
    }
  }

  /** Switches to the database file at the path when it is no longer the one this store opened. */
  #followFile(): void {
    const now = fileIdentity(this.databasePath);
    if (now !== undefined && now === this.#identity) return;
    this.#database.close();
    if (now === undefined) removeSidecars(this.databasePath);
    try {
      this.#database = openMemoryDatabase(this.databasePath);
    } catch (error) {
      if (!isDamagedMemoryError(error)) throw error;
      removeMemoryFiles(this.databasePath);
      this.#database = openMemoryDatabase(this.databasePath);
    }
    this.#identity = fileIdentity(this.databasePath);
    if (now === undefined || this.#isEmpty()) {
      const summary = this.#fill();
      this.#notices.push(rebuiltNotice(this.databasePath, now === undefined ? "was deleted while in use" : "was replaced while in use", summary));
    } else {
      this.#loadForgotten();
      this.#notices.push(`the memory database ${this.databasePath} was replaced while in use (another org rebuilt it); using the new one`);
    }
  }

  #isEmpty(): boolean {
    return (this.#database.query<{ count: number }, []>("SELECT count(*) AS count FROM entries").get()?.count ?? 0) === 0;
  }

  /** Fills an empty index from the transcripts and facts.jsonl, leaving out what was forgotten. */
  #fill(): RebuildSummary {
    const log = this.#readLog();
    this.#forgotten = new Set(log.forgottenSessions);
    let entries = 0;
    let damagedLines = 0;
    let sessions = 0;
    for (const sessionId of listSessions(this.sessionsDir)) {
      if (this.#forgotten.has(sessionId)) continue;
      let read: ReturnType<typeof readTranscript>;
      try {
        read = readTranscript(transcriptPath(this.sessionsDir, sessionId));
      } catch {
        continue; // unreadable or not a session file: nothing to remember from it
      }
      sessions += 1;
      damagedLines += read.damagedLines;
      const found = read.lines.flatMap((line) => entriesOf(sessionId, line));
      this.#insert(found);
      entries += found.length;
    }
    this.#insert(log.facts.filter((fact) => fact.sessionId === undefined || !this.#forgotten.has(fact.sessionId)).map(factEntry));
    const forget = this.#database.query("INSERT OR IGNORE INTO forgotten (session_id) VALUES (?)");
    for (const sessionId of this.#forgotten) forget.run(sessionId);
    return { sessions, entries, facts: log.facts.length, damagedLines: damagedLines + log.damagedLines };
  }

  #loadForgotten(): void {
    this.#forgotten = new Set(
      this.#database
        .query<{ session_id: string }, []>("SELECT session_id FROM forgotten")
        .all()
        .map((row) => row.session_id),
    );
  }

  #readLog(): { facts: SavedFact[]; forgottenSessions: string[]; damagedLines: number } {
    let log: string;
    try {
      log = readPrivateFile(this.factsPath);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return { facts: [], forgottenSessions: [], damagedLines: 0 };
      throw error;
    }
    const facts = new Map<string, SavedFact>();
    const forgottenSessions = new Set<string>();
    let damagedLines = 0;
    for (const text of log.split("\n")) {
      if (text.trim() === "") continue;
      let line: FactLine;
      try {
        line = FactLine.parse(JSON.parse(text));
      } catch {
        damagedLines += 1;
        continue;
      }
      if (line.type === "fact") {
        const { type: _type, ...fact } = line;
        facts.set(line.id, fact);
      } else if (line.type === "forget-fact") facts.delete(line.id);
      else forgottenSessions.add(line.sessionId);
    }
    return { facts: [...facts.values()], forgottenSessions: [...forgottenSessions], damagedLines };
  }

  #appendLog(line: FactLine): void {
    appendPrivateFile(this.factsPath, `${JSON.stringify(line)}\n`);
  }

  /**
   * Rewrites facts.jsonl with only the lines `keep` accepts, and `marker` (what was forgotten) at the end:
   * written beside it, fsynced and renamed over it, so a crash leaves the old log or the new one. A damaged
   * line goes too (it may be a torn copy of what is forgotten). A line another process appended meanwhile
   * makes it start over, so none is lost.
   */
  #rewriteLog(keep: (line: FactLine) => boolean, marker: FactLine): void {
    const read = () => {
      try {
        return readPrivateFile(this.factsPath);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return "";
        throw error;
      }
    };
    for (let attempt = 0; ; attempt += 1) {
      const before = read();
      const kept = before.split("\n").filter((text) => {
        if (text.trim() === "") return false;
        try {
          return keep(FactLine.parse(JSON.parse(text)));
        } catch {
          return false;
        }
      });
      const text = [...kept, JSON.stringify(marker)].map((line) => `${line}\n`).join("");
      if (read() !== before && attempt < 5) continue;
      writePrivateFile(this.factsPath, text, { durable: true });
      return;
    }
  }

  /**
   * After a forget: nothing of the deleted text stays in the database's files. secure_delete zeroed the rows'
   * pages; the full-text index is merged (FTS5 keeps a deleted document's terms in its old segments until
   * then), vectors no record uses go, VACUUM leaves no free page, and the WAL (which holds earlier versions of
   * the pages) is checkpointed and truncated. A reader of another process can hold the WAL back; its next
   * forget (or its own close) finishes the truncation.
   */
  #purge(): void {
    this.#withRepair(() => {
      this.#database.exec("INSERT INTO entries_fts(entries_fts) VALUES ('optimize')");
      this.#database.exec("DELETE FROM embeddings WHERE hash NOT IN (SELECT embed_hash FROM entries)");
    });
    try {
      this.#database.exec("VACUUM");
      const checkpoint = this.#database.query<{ busy: number }, []>("PRAGMA wal_checkpoint(TRUNCATE)").get();
      if (checkpoint?.busy) throw new Error("another process is reading the database");
    } catch (error) {
      this.#notices.push(
        `the forgotten records are out of memory, but ${this.databasePath} could not be compacted yet (${error instanceof Error ? error.message : String(error)}), so its files may still hold their text; run 'org memory rebuild' when no room is open`,
      );
    }
  }
}

function factEntry(fact: SavedFact): MemoryEntry {
  return {
    key: `fact:${fact.id}`,
    kind: "fact",
    factId: fact.id,
    ...(fact.sessionId !== undefined ? { sessionId: fact.sessionId } : {}),
    persona: fact.persona,
    time: fact.time,
    text: fact.text,
    tags: fact.tags.map((tag) => tag.replace(/\s+/g, "_")),
  };
}

/** `device:inode` of a file, or undefined when there is none at the path. */
function fileIdentity(path: string): string | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.dev}:${stat.ino}` : undefined;
}

/** Whether `path` is a plain file with something in it (a link is not read here; saving refuses it). */
function hasContent(path: string): boolean {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isFile() === true && stat.size > 0;
}

/** The -wal, -shm and -journal files of a database at `path` (not the database itself). */
function removeSidecars(path: string): void {
  for (const suffix of ["-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

function rebuiltNotice(path: string, reason: string, summary: RebuildSummary): string {
  return `the memory database ${path} ${reason}; rebuilt it from ${summary.sessions} transcript${summary.sessions === 1 ? "" : "s"} (${summary.entries} records) and ${summary.facts} saved fact${summary.facts === 1 ? "" : "s"}`;
}

/**
 * The transcripts are redacted as they are written and facts as they are saved; a key the config gained since is hidden
 * here too. Only text that holds a known secret's form pays for the full redaction: a rebuild indexes every record.
 */
function withoutKnownSecrets(text: string, known: KnownSecrets): string {
  return known.forms.some((form) => text.includes(form)) ? redact(text, known) : text;
}
