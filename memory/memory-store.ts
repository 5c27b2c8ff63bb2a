import type { Database } from "bun:sqlite";
import { existsSync, lstatSync } from "node:fs";
import { dirname, join } from "node:path";
import { MEMORY_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { listSessions, readTranscript, transcriptPath } from "../room/transcript.ts";
import type { TranscriptLine } from "../room/transcript-line.ts";
import { redact } from "../security/redact.ts";
import { removeDatabaseFiles } from "../security/stamped-database.ts";
import { fileIdentity, isDamagedMemoryError, openMemoryDatabase, removeSidecars } from "./memory-database.ts";
import { entriesOf, type MemoryEntry } from "./memory-entry.ts";
import { ensureOrgDir, ensurePrivateDir } from "../security/private-state.ts";
import { factEntry, FactLog, type SavedFact } from "./fact-log.ts";
import { insertEntries } from "./insert-entries.ts";
import { removeFromProfile } from "../personas/user-profile.ts";
import { StagedFacts } from "./staged-facts.ts";
import { type MemorySearchOutcome, type SearchOptions, searchMemory } from "./search-memory.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { OrgError } from "../errors/org-error.ts";

/** The database file under a workspace: an index, rebuilt from the transcripts and facts.jsonl. */
export const MEMORY_DATABASE_FILE = "memory.sqlite";
/** The append-only log of saved facts and of what was forgotten: the one copy memory keeps itself. */
export const FACTS_FILE = "facts.jsonl";

export type RebuildSummary = { sessions: number; entries: number; facts: number; damagedLines: number };

/** No such session or fact in memory; the message says what to check. */
export class MemoryNotFoundError extends OrgError {
  override name = "MemoryNotFoundError";
}

const FACT_CHARS = 4_000;
const MAX_TAGS = 16;

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
  readonly #facts: FactLog;
  readonly sessionsDir: string;

  private constructor(dir: string, sessionsDir: string, database: Database, secrets: readonly string[]) {
    this.dir = dir;
    this.#secrets = secrets;
    this.databasePath = join(dir, MEMORY_DATABASE_FILE);
    this.factsPath = join(dir, FACTS_FILE);
    this.#facts = new FactLog(this.factsPath);
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
      removeDatabaseFiles(path);
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
    this.#withRepair(() => this.#insertAll(entries));
    this.#told("indexed");
  }

  /**
   * Saves a fact, redacted with the store's secrets and `secrets` (the room's set, as the tool call passes it):
   * first to facts.jsonl, the copy a rebuild reads, then to the index.
   */
  save(fact: {
    text: string;
    tags?: string[];
    persona: string;
    sessionId?: string;
    quote?: string;
    messageId?: string;
    secrets?: readonly string[];
  }): SavedFact {
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
      ...(fact.quote !== undefined ? { quote: redact(fact.quote, secrets).slice(0, FACT_CHARS) } : {}),
      ...(fact.messageId !== undefined ? { messageId: fact.messageId } : {}),
    };
    this.#facts.append({ type: "fact", ...saved });
    this.#withRepair(() => this.#insertAll([factEntry(saved)]));
    this.#told("fact-saved");
    return saved;
  }

  /** The facts remembered now (facts.jsonl read), with how often the observer confirmed each. */
  facts(): SavedFact[] {
    return this.#facts.read().facts;
  }

  /** The sessions forgotten (`org memory forget --session`): nothing of them is remembered or read again. */
  forgottenSessions(): string[] {
    return [...this.#forgotten];
  }

  /** Notes that the observer proposed a remembered fact again: it counts toward the profile's order. */
  confirm(factId: string): void {
    this.#facts.append({ type: "confirm-fact", id: factId, time: new Date().toISOString() });
  }

  /** Forgets a session: its records leave the index, and a rebuild will not bring them back (the transcript stays). */
  forgetSession(sessionId: string): number {
    const known = this.#withRepair(
      () =>
        this.#database.query<{ count: number }, [string]>("SELECT count(*) AS count FROM entries WHERE session_id = ?").get(sessionId)?.count ?? 0,
    );
    let onDisk = false;
    try {
      onDisk = existsSync(transcriptPath(this.sessionsDir, sessionId));
    } catch {
      onDisk = false; // not a session id at all
    }
    if (known === 0 && !onDisk)
      throw new MemoryNotFoundError(`memory has no session "${sessionId}"; 'org memory search' shows the session ids it holds.`);
    const sessionFacts = new Set(
      this.#facts
        .read()
        .facts.filter((fact) => fact.sessionId === sessionId)
        .map((fact) => fact.id),
    );
    this.#facts.rewrite((line) => !(line.type === "fact" && line.sessionId === sessionId), {
      type: "forget-session",
      sessionId,
      time: new Date().toISOString(),
    });
    removeFromProfile(this.dir, sessionFacts);
    new StagedFacts(this.dir).forgetSession(sessionId);
    this.#forgotten.add(sessionId);
    this.#withRepair(() => this.#deleteWhere("session_id", sessionId));
    this.#purge();
    this.#told("session-forgotten");
    return known;
  }

  /** Forgets a saved fact: out of the index, and marked forgotten in facts.jsonl so a rebuild leaves it out. */
  forgetFact(factId: string): void {
    const known = this.#withRepair(
      () => this.#database.query<{ count: number }, [string]>("SELECT count(*) AS count FROM entries WHERE fact_id = ?").get(factId)?.count ?? 0,
    );
    if (known === 0) throw new MemoryNotFoundError(`memory has no fact "${factId}"; 'org memory search' shows fact ids (f-…).`);
    this.#facts.rewrite((line) => !((line.type === "fact" || line.type === "confirm-fact") && line.id === factId), {
      type: "forget-fact",
      id: factId,
      time: new Date().toISOString(),
    });
    removeFromProfile(this.dir, new Set([factId]));
    this.#withRepair(() => this.#deleteWhere("fact_id", factId));
    this.#purge();
    this.#told("fact-forgotten");
  }

  /** Publishes the change to the workspace's event stream (the workspace holds `.org/memory/`). */
  #told(what: "indexed" | "fact-saved" | "fact-forgotten" | "session-forgotten"): void {
    publishWorkspaceEvent(dirname(dirname(this.dir)), { type: "memory-changed", what });
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
      removeDatabaseFiles(this.databasePath);
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
  async search(query: string, options: SearchOptions = {}): Promise<MemorySearchOutcome> {
    return searchMemory(
      () => this.#database,
      query,
      options,
      (work) => this.#withRepair(work),
    );
  }

  close(): void {
    this.#database.close();
  }

  #insertAll(entries: MemoryEntry[]): void {
    insertEntries(this.#database, entries, this.#secrets);
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
      removeDatabaseFiles(this.databasePath);
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
    const log = this.#facts.read();
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
      this.#insertAll(found);
      entries += found.length;
    }
    this.#insertAll(log.facts.filter((fact) => fact.sessionId === undefined || !this.#forgotten.has(fact.sessionId)).map(factEntry));
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
        `the forgotten records are out of memory, but ${this.databasePath} could not be compacted yet ` +
          `(${error instanceof Error ? error.message : String(error)}), so its files may still hold their ` +
          `text; run 'org memory rebuild' when no room is open`,
      );
    }
  }
}

/** Whether `path` is a plain file with something in it (a link is not read here; saving refuses it). */
function hasContent(path: string): boolean {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  return stat?.isFile() === true && stat.size > 0;
}

function rebuiltNotice(path: string, reason: string, summary: RebuildSummary): string {
  return (
    `the memory database ${path} ${reason}; rebuilt it from ${summary.sessions} ` +
    `transcript${summary.sessions === 1 ? "" : "s"} (${summary.entries} records) and ${summary.facts} saved fact${summary.facts === 1 ? "" : "s"}`
  );
}
