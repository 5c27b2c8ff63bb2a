import type { Database } from "bun:sqlite";
import { dirname, join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { redact } from "../security/redact.ts";
import type { DatabaseStamp } from "../security/stamped-database.ts";
import { heldStateProblem, inodeOf, openStateFile, openUncheckedState, otherHolders, StateHeldError } from "./state-file.ts";
import { randomHex } from "../concurrency/random-hex.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";

// `.org/supervisor/state.db`: what `org supervise` found and did. SQLite in WAL mode, so `org supervise status` reads
// while a round writes; every write is one short transaction under SQLite's own write lock (one writer at a time).

/** The supervisor's folder: `.org/supervisor`. */
export const SUPERVISOR_DIR = join(ORG_DIR, "supervisor");

const STAMP: DatabaseStamp = {
  applicationId: 0x6f726773, // "orgs"
  schemaVersion: 1,
  schema:
    `
CREATE TABLE checks (name TEXT PRIMARY KEY, state TEXT NOT NULL, detail TEXT NOT NULL, checked_at INTEGER NOT ` +
    `NULL, changed_at INTEGER NOT NULL, ms INTEGER NOT NULL);
CREATE TABLE incidents (
  id TEXT PRIMARY KEY, pattern TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  title TEXT NOT NULL, detail TEXT NOT NULL, excerpt TEXT, diagnosis TEXT,
  opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, resolved_at INTEGER, seen INTEGER NOT NULL);
CREATE UNIQUE INDEX incidents_open ON incidents (pattern, key) WHERE state = 'open';
CREATE TABLE fixes (
  id TEXT PRIMARY KEY, incident TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('proposed', 'applied', 'verified', 'failed')), by TEXT NOT NULL, auto INTEGER NOT NULL,
  detail TEXT NOT NULL, proposed_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX fixes_incident ON fixes (incident);
CREATE TABLE fix_events (fix TEXT NOT NULL, state TEXT NOT NULL, at INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX fix_events_fix ON fix_events (fix);
CREATE TABLE attempts (kind TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL, detail TEXT NOT NULL);
CREATE INDEX attempts_kind ON attempts (kind, key, at);
CREATE TABLE signatures (id TEXT PRIMARY KEY, signature TEXT NOT NULL, source TEXT NOT NULL, example TEXT NOT ` +
    `NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, total INTEGER NOT NULL);
CREATE TABLE occurrences (signature TEXT NOT NULL, at INTEGER NOT NULL, line TEXT NOT NULL);
CREATE INDEX occurrences_signature ON occurrences (signature, at);
CREATE TABLE seen_lines (hash TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE mutes (pattern TEXT PRIMARY KEY, until INTEGER, created_at INTEGER NOT NULL);
CREATE TABLE notices (key TEXT PRIMARY KEY, sent_at INTEGER, pending TEXT);
CREATE TABLE events (at INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX events_at ON events (at);
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`,
};

export type CheckState = "ok" | "warn" | "fail" | "off" | "error";
export type CheckRow = { name: string; state: CheckState; detail: string; checkedAt: number; changedAt: number; ms: number };
export type IncidentRow = {
  id: string;
  pattern: string;
  key: string;
  state: "open" | "resolved";
  title: string;
  detail: string;
  excerpt: string | null;
  diagnosis: string | null;
  openedAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  seen: number;
};
export type FixState = "proposed" | "applied" | "verified" | "failed";
export type FixRow = {
  id: string;
  incident: string;
  action: string;
  target: string;
  state: FixState;
  by: string;
  auto: boolean;
  detail: string;
  proposedAt: number;
  updatedAt: number;
};

const INCIDENT_COLUMNS =
  "id, pattern, key, state, title, detail, excerpt, diagnosis, opened_at AS openedAt, updated_at AS updatedAt, resolved_at AS resolvedAt, seen";
const FIX_COLUMNS = "id, incident, action, target, state, by, auto, detail, proposed_at AS proposedAt, updated_at AS updatedAt";

/** The last round's summary, as status shows it. */
export const LAST_ROUND_KEY = "round:last";

function newId(prefix: string): string {
  return `${prefix}${randomHex(5)}`;
}

function fixOf(row: Omit<FixRow, "auto"> & { auto: number }): FixRow {
  return { ...row, auto: row.auto === 1 };
}

/** The supervisor's record of one workspace. */
export class SupervisorState {
  readonly path: string;
  /** Said once, when the file was damaged and a new one made (the damaged one kept beside it). */
  readonly notices: string[];
  #db: Database;
  /** The inode of the file opened: a file moved or replaced at the path under this process is noticed. */
  #ino: number | undefined;
  /** The room's secret set: every text this state keeps is redacted with it (and the environment's) first. */
  #secrets: readonly string[] = [];

  private constructor(path: string, db: Database, notices: string[]) {
    this.path = path;
    this.#db = db;
    this.#ino = inodeOf(path);
    this.notices = notices;
  }

  /**
   * Opens (making when missing) `.org/supervisor/state.db` of the workspace; a damaged or foreign file is moved aside and
   * made anew, unless another process holds it open (StateHeldError: that process, the running supervisor, repairs it).
   */
  static open(workspaceDir: string, now = Date.now()): SupervisorState {
    const path = join(ensurePrivateDir(join(workspaceDir, SUPERVISOR_DIR)), "state.db");
    const { db, notice } = openStateFile(path, STAMP, now);
    return new SupervisorState(path, db, notice ? [notice] : []);
  }

  /** What is wrong with the file this state holds, read afresh (see `heldStateProblem`); undefined when it is well. */
  problem(): string | undefined {
    return heldStateProblem(this.path, this.#ino);
  }

  /**
   * Closes the connection and opens the file at the path again: a damaged one moved aside and begun anew (when no other
   * process holds it). What was done, said once; the state keeps working on the new file.
   */
  reopen(now: number): string | undefined {
    const holders = otherHolders(this.path);
    if (holders.length > 0)
      throw new StateHeldError(`${this.path} is held open by pid ${holders.join(", ")} too; it is left where it is until they let it go`);
    // Closed first: SQLite removes the log by its path when the last connection closes, which must not be a new file's.
    this.#db.close();
    try {
      const { db, notice } = openStateFile(this.path, STAMP, now);
      this.#db = db;
      return notice;
    } catch (error) {
      this.#db = openUncheckedState(this.path);
      throw error;
    } finally {
      this.#ino = inodeOf(this.path);
    }
  }

  close(): void {
    this.#db.close();
  }

  /** The room's secret set (the config's, the webhook's key) every text kept from now on is redacted with. */
  useSecrets(secrets: readonly string[]): void {
    this.#secrets = secrets;
  }

  /** `text` as it may be kept: redacted, then cut to `max` characters (never cut first: a cut secret is not recognised). */
  clean(text: string, max = 4000): string {
    return redact(text, this.#secrets).slice(0, max);
  }

  recordCheck(name: string, state: CheckState, detail: string, at: number, ms: number): void {
    const before = this.#db.query<{ state: string }, [string]>("SELECT state FROM checks WHERE name = ?").get(name);
    const changedAt = before?.state === state ? undefined : at;
    this.#db
      .query(
        "INSERT INTO checks (name, state, detail, checked_at, changed_at, ms) VALUES (?1, ?2, ?3, ?4, ?4, ?5) " +
          "ON CONFLICT (name) DO UPDATE SET state = ?2, detail = ?3, checked_at = ?4, ms = ?5, changed_at = coalesce(?6, changed_at)",
      )
      .run(name, state, this.clean(detail), at, Math.round(ms), changedAt ?? null);
    if (changedAt !== undefined) this.told(name);
  }

  /** Publishes that incidents, fixes, mutes or a check's state changed to the workspace's event stream. */
  told(check?: string): void {
    publishWorkspaceEvent(dirname(dirname(dirname(this.path))), { type: "incident-changed", ...(check ? { check } : {}) });
  }

  checks(): CheckRow[] {
    return this.#db
      .query<CheckRow, []>("SELECT name, state, detail, checked_at AS checkedAt, changed_at AS changedAt, ms FROM checks ORDER BY name")
      .all();
  }

  /**
   * The open incident of `pattern` and `key`, or a new one; `opened` says which, `changed` whether an open one's title
   * changed (the same problem, another kind of it: a model missing, then the server gone).
   */
  openIncident(
    pattern: string,
    key: string,
    title: string,
    detail: string,
    at: number,
    excerpt?: string,
  ): { incident: IncidentRow; opened: boolean; changed: boolean } {
    const open = this.openIncidentOf(pattern, key);
    const kept = { title: this.clean(title, 1000), detail: this.clean(detail), excerpt: excerpt === undefined ? null : this.clean(excerpt, 16_000) };
    if (open) {
      this.#db
        .query("UPDATE incidents SET title = ?, detail = ?, updated_at = ?, seen = seen + 1, excerpt = coalesce(?, excerpt) WHERE id = ?")
        .run(kept.title, kept.detail, at, kept.excerpt, open.id);
      this.told(pattern);
      return { incident: this.#existing(this.incident(open.id), open.id), opened: false, changed: open.title !== kept.title };
    }
    const id = newId("i");
    this.#db
      .query(
        "INSERT INTO incidents (id, pattern, key, state, title, detail, excerpt, opened_at, updated_at, seen) " +
          "VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, 1)",
      )
      .run(id, pattern, this.clean(key, 1000), kept.title, kept.detail, kept.excerpt, at, at);
    this.told(pattern);
    return { incident: this.#existing(this.incident(id), id), opened: true, changed: false };
  }

  openIncidentOf(pattern: string, key: string): IncidentRow | undefined {
    return (
      this.#db
        .query<IncidentRow, [string, string]>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE pattern = ? AND key = ? AND state = 'open'`)
        .get(pattern, this.clean(key, 1000)) ?? undefined
    );
  }

  incident(id: string): IncidentRow | undefined {
    return this.#db.query<IncidentRow, [string]>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = ?`).get(id) ?? undefined;
  }

  /** Open incidents (of one pattern when given), oldest first. */
  openIncidents(pattern?: string): IncidentRow[] {
    if (pattern === undefined)
      return this.#db.query<IncidentRow, []>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' ORDER BY opened_at`).all();
    return this.#db
      .query<IncidentRow, [string]>(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE state = 'open' AND pattern = ? ORDER BY opened_at`)
      .all(pattern);
  }

  /** Incidents open at some time in [from, to): opened before `to`, and still open or resolved at `from` or later; newest first. */
  incidentsDuring(from: number, to: number): IncidentRow[] {
    return this.#db
      .query<IncidentRow, [number, number]>(
        `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?) ORDER BY opened_at DESC`,
      )
      .all(to, from);
  }

  resolveIncident(id: string, at: number, detail: string): void {
    this.#db
      .query("UPDATE incidents SET state = 'resolved', resolved_at = ?, updated_at = ?, detail = ? WHERE id = ?")
      .run(at, at, this.clean(detail), id);
    this.told();
  }

  setDiagnosis(id: string, diagnosis: string): void {
    this.#db.query("UPDATE incidents SET diagnosis = ? WHERE id = ?").run(this.clean(diagnosis), id);
    this.told();
  }

  /** Records a fix as proposed (its first event). */
  proposeFix(incident: string, action: string, target: string, by: string, auto: boolean, detail: string, at: number): FixRow {
    const id = newId("f");
    const kept = this.clean(detail);
    this.#db.transaction(() => {
      this.#db
        .query(
          "INSERT INTO fixes (id, incident, action, target, state, by, auto, detail, proposed_at, updated_at) " +
            "VALUES (?, ?, ?, ?, 'proposed', ?, ?, ?, ?, ?)",
        )
        .run(id, incident, action, this.clean(target, 1000), this.clean(by, 200), auto ? 1 : 0, kept, at, at);
      this.#db.query("INSERT INTO fix_events (fix, state, at, detail) VALUES (?, 'proposed', ?, ?)").run(id, at, kept);
    })();
    this.told();
    return this.requireFix(id);
  }

  /** Moves a fix on (applied, verified or failed), with what happened, as one more event of its lifecycle. */
  moveFix(id: string, state: FixState, detail: string, at: number): void {
    const kept = this.clean(detail);
    this.#db.transaction(() => {
      this.#db.query("UPDATE fixes SET state = ?, detail = ?, updated_at = ? WHERE id = ?").run(state, kept, at, id);
      this.#db.query("INSERT INTO fix_events (fix, state, at, detail) VALUES (?, ?, ?, ?)").run(id, state, at, kept);
    })();
    this.told();
  }

  /** A row just written or known to be there; its absence is the state file changing under the supervisor. */
  #existing<Row>(row: Row | undefined, id: string): Row {
    if (row === undefined) throw new Error(`${id} vanished from ${this.path} as it was written`);
    return row;
  }

  /** The fix `id`, which must be there. */
  requireFix(id: string): FixRow {
    return this.#existing(this.fix(id), id);
  }

  fix(id: string): FixRow | undefined {
    const row = this.#db.query<Omit<FixRow, "auto"> & { auto: number }, [string]>(`SELECT ${FIX_COLUMNS} FROM fixes WHERE id = ?`).get(id);
    return row ? fixOf(row) : undefined;
  }

  /** The fixes of an incident, newest first. */
  fixesOf(incident: string): FixRow[] {
    return this.#db
      .query<Omit<FixRow, "auto"> & { auto: number }, [string]>(
        `SELECT ${FIX_COLUMNS} FROM fixes WHERE incident = ? ORDER BY proposed_at DESC, rowid DESC`,
      )
      .all(incident)
      .map(fixOf);
  }

  /** Fixes proposed or moved since `since` (all states), newest first, at most `limit`. */
  recentFixes(since: number, limit = 200): FixRow[] {
    return this.#db
      .query<Omit<FixRow, "auto"> & { auto: number }, [number, number]>(
        `SELECT ${FIX_COLUMNS} FROM fixes WHERE updated_at >= ? ORDER BY updated_at DESC, rowid DESC LIMIT ?`,
      )
      .all(since, limit)
      .map(fixOf);
  }

  /** Every event of a fix's lifecycle, oldest first. */
  fixEvents(id: string): { state: FixState; at: number; detail: string }[] {
    return this.#db
      .query<{ state: FixState; at: number; detail: string }, [string]>("SELECT state, at, detail FROM fix_events WHERE fix = ? ORDER BY at, rowid")
      .all(id);
  }

  recordAttempt(kind: string, key: string, at: number, detail: string): void {
    this.#db.query("INSERT INTO attempts (kind, key, at, detail) VALUES (?, ?, ?, ?)").run(kind, key, at, this.clean(detail, 2000));
  }

  /** Attempts of `kind` at `key` since `since`, oldest first. */
  attemptsSince(kind: string, key: string, since: number): { at: number; detail: string }[] {
    return this.#db
      .query<{ at: number; detail: string }, [string, string, number]>(
        "SELECT at, detail FROM attempts WHERE kind = ? AND key = ? AND at >= ? ORDER BY at",
      )
      .all(kind, key, since);
  }

  /** An event for the daily report. */
  event(kind: string, text: string, at: number): void {
    this.#db.query("INSERT INTO events (at, kind, text) VALUES (?, ?, ?)").run(at, kind, this.clean(text));
  }

  eventsBetween(from: number, to: number): { at: number; kind: string; text: string }[] {
    return this.#db
      .query<{ at: number; kind: string; text: string }, [number, number]>("SELECT at, kind, text FROM events WHERE at >= ? AND at < ? ORDER BY at")
      .all(from, to);
  }

  get(key: string): string | undefined {
    return this.#db.query<{ value: string }, [string]>("SELECT value FROM kv WHERE key = ?").get(key)?.value;
  }

  set(key: string, value: string): void {
    this.#db.query("INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2").run(key, value);
  }

  /** Runs `work` as one transaction. */
  transaction<T>(work: () => T): T {
    return this.#db.transaction(work)();
  }

  /** The raw connection for the parts of the supervisor that keep tables of their own here (signatures, mutes, notices). */
  get db(): Database {
    return this.#db;
  }

  /** Drops what is older than `before` from the tables that only grow (events, attempts, occurrences, seen lines). */
  prune(before: number): void {
    this.transaction(() => {
      for (const table of ["events", "attempts", "occurrences", "seen_lines"]) this.#db.query(`DELETE FROM ${table} WHERE at < ?`).run(before);
    });
  }
}
