import { readdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { publishWorkspaceEvent } from "../workspace-events/event-journal.ts";
import { ensurePrivateDir, orgDirIdentity, readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { UnsafeWriteError } from "../security/safe-file-write.ts";
import { applyChangeSet, reverseChangeSet } from "./apply-change-set.ts";
import { type ChangeSet, type FileVersion, readFileNoFollow } from "./change-set.ts";
import { type ChangeSetCheckOptions, checkChangeSet } from "./check-change-set.ts";
import { diffStats, unifiedDiff } from "./unified-diff.ts";
import { OrgError } from "../errors/org-error.ts";

/** Where applied changes are recorded: `.org/changes/<id>/`. */
export const CHANGES_DIR = join(ORG_DIR, "changes");

/** Where a change that conflicted with the user's edits is kept, not applied: `.org/conflicts/<id>/patch.diff`. */
const CONFLICTS_DIR = join(ORG_DIR, "conflicts");

/**
 * One applied change as `.org/changes/<id>/change.json` keeps it; the bytes sit beside it in `before/` and `after/`.
 * Made on first use: only reading the journal back (an undo, a list, the next change's number) needs it.
 */
export const changeRecordSchema = onFirstUse(() => {
  const StoredVersion = z.discriminatedUnion("type", [
    z.object({ type: z.literal("file"), mode: z.int(), size: z.int(), sha256: z.string(), blob: z.string().regex(/^(before|after)\/\d+$/) }),
    z.object({ type: z.literal("symlink"), target: z.string() }),
  ]);

  return z.object({
    id: z.string().regex(/^[0-9]{8}T[0-9]{6}-[0-9]{3}-[a-z0-9]{6}$/),
    /** Its place in this workspace's journal: one more than the highest before it. Records are ordered by it, never by their names' dates. */
    seq: z.int().min(1),
    /**
     * The sha256 of this workspace's `.org` folder identity (`orgDirIdentity`), the id and the sequence: a record copied
     * in with someone else's folder (a clone that ships `.org/changes/`) names another folder, and is ignored.
     */
    workspace: z.string().regex(/^[0-9a-f]{64}$/),
    time: z.string(),
    sessionId: z.string().optional(),
    /** The user turn and the reply (the room message's id) whose tool call made the change. */
    turnId: z.string().optional(),
    replyId: z.string().optional(),
    persona: z.string().optional(),
    stats: z.object({ files: z.int(), added: z.int(), removed: z.int() }),
    files: z.array(
      z.object({
        path: z.string(),
        status: z.enum(["added", "modified", "deleted", "mode"]),
        before: StoredVersion.optional(),
        after: StoredVersion.optional(),
      }),
    ),
    /** When it was undone. */
    undone: z.string().optional(),
  });
});
export type ChangeRecord = z.infer<ReturnType<typeof changeRecordSchema>>;

/** What a change, and so its undo, may not touch: the rules `checkChangeSet` applies (its defaults for what is left out). */
export type ChangeRules = Pick<ChangeSetCheckOptions, "limits" | "protectedPaths" | "secretPaths">;

/** Nothing left to undo, the journal cannot be read, or the undo may not be written as things are; the message says what to do. */
export class ChangeJournalError extends OrgError {
  override name = "ChangeJournalError";
}

/**
 * Records a change about to be applied (the patch, the prior bytes of every touched file, those written and
 * their hashes, who made it), then applies it; should the apply fail, the record is removed. Returns the record.
 */
export function applyAndRecord(
  workspaceDir: string,
  changeSet: ChangeSet,
  origin: { sessionId?: string; turnId?: string; replyId?: string; persona?: string } = {},
  /** The change's unified diff, when the caller made it already. */
  patch: string = unifiedDiff(changeSet),
  /** The id the change was proposed under (`newChangeId`); a new one when not given. */
  id: string = newChangeId(),
): ChangeRecord {
  const now = new Date();
  const seq = 1 + Math.max(0, ...boundRecords(workspaceDir).map((record) => record.seq));
  const directory = ensurePrivateDir(join(workspaceDir, CHANGES_DIR, id));
  ensurePrivateDir(join(directory, "before"));
  ensurePrivateDir(join(directory, "after"));
  const store = (version: FileVersion | undefined, side: "before" | "after", index: number) => {
    if (version === undefined) return undefined;
    if (version.type === "symlink") return { type: "symlink" as const, target: version.target };
    if (version.type !== "file" || version.content === undefined)
      throw new RangeError("only checked change sets are recorded: files with content and links");
    const blob = `${side}/${index}`;
    writePrivateFile(join(directory, blob), version.content);
    return {
      type: "file" as const,
      mode: version.mode,
      size: version.size,
      sha256: new Bun.CryptoHasher("sha256").update(version.content).digest("hex"),
      blob,
    };
  };
  const record: ChangeRecord = {
    id,
    seq,
    workspace: workspaceBinding(orgDirIdentity(workspaceDir), id, seq),
    time: now.toISOString(),
    ...origin,
    stats: diffStats(changeSet),
    files: changeSet.changes.map((change, index) => ({
      path: change.path,
      status: change.status,
      ...(change.before ? { before: store(change.before, "before", index) } : {}),
      ...(change.after ? { after: store(change.after, "after", index) } : {}),
    })),
  };
  writePrivateFile(join(directory, "patch.diff"), patch);
  writePrivateFile(join(directory, "change.json"), `${JSON.stringify(record, null, 2)}\n`, { durable: true });
  try {
    applyChangeSet(workspaceDir, changeSet);
  } catch (error) {
    markUndone(workspaceDir, { ...record, undone: "never applied" });
    throw error;
  }
  publishWorkspaceEvent(workspaceDir, { type: "change-recorded", id: record.id, undone: false });
  return record;
}

/** A new change's id: its time to the millisecond and six random characters, so ids sort by time. */
export function newChangeId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.(\d{3})Z$/, "-$1");
  return `${stamp}-${Math.random().toString(36).slice(2, 8).padEnd(6, "0")}`;
}

/**
 * Keeps a change that conflicted with the user's edits instead of applying it, so neither side is lost: the
 * user's files stay as they are, and the change's diff (`unifiedDiff` of it, against them: `git apply` takes it from the
 * workspace's root to get the command's version) is written aside. Returns the diff's workspace-relative path.
 */
export function keepConflictedChange(workspaceDir: string, patch: string, id: string = newChangeId()): string {
  const directory = join(CONFLICTS_DIR, id);
  ensurePrivateDir(join(workspaceDir, directory));
  writePrivateFile(join(workspaceDir, directory, "patch.diff"), patch, { durable: true });
  return join(directory, "patch.diff");
}

/** Every recorded change of this workspace, newest (highest `seq`) first; an unreadable record, or one made elsewhere, is left out. */
export function listChanges(workspaceDir: string): ChangeRecord[] {
  return boundRecords(workspaceDir).filter((record) => record.undone !== "never applied");
}

/** The names under `.org/changes/` that are no record of this workspace's: unreadable, or made for another `.org` (a clone's). */
export function ignoredChanges(workspaceDir: string): string[] {
  const bound = new Set(boundRecords(workspaceDir).map((record) => record.id));
  return journalNames(workspaceDir).filter((name) => !bound.has(name));
}

/** Every record bound to this workspace (never-applied ones too), by `seq`, newest first; ties by time, then id. */
function boundRecords(workspaceDir: string): ChangeRecord[] {
  const records = journalNames(workspaceDir).flatMap((id) => readRecord(workspaceDir, id) ?? []);
  const order = (a: ChangeRecord, b: ChangeRecord) => b.seq - a.seq || (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1);
  // One lstat of `.org` for the whole journal, not one per record.
  const identity = orgDirIdentity(workspaceDir);
  return records.filter((record) => record.workspace === workspaceBinding(identity, record.id, record.seq)).sort(order);
}

function journalNames(workspaceDir: string): string[] {
  try {
    return readdirSync(join(workspaceDir, CHANGES_DIR));
  } catch {
    return [];
  }
}

/** A record's `workspace`: its `.org` folder's identity (`orgDirIdentity`), id and sequence, hashed. */
function workspaceBinding(orgIdentity: string, id: string, seq: number): string {
  return new Bun.CryptoHasher("sha256").update(JSON.stringify([orgIdentity, id, seq])).digest("hex");
}

/** The change set a record stands for, its bytes read back from the journal. */
export function loadChangeSet(workspaceDir: string, record: ChangeRecord): ChangeSet {
  const directory = join(workspaceDir, CHANGES_DIR, record.id);
  const load = (stored: ChangeRecord["files"][number]["before"]): FileVersion | undefined => {
    if (stored === undefined) return undefined;
    if (stored.type === "symlink") return stored;
    const content = readFileNoFollow(join(directory, stored.blob), stored.size);
    if (content === undefined || new Bun.CryptoHasher("sha256").update(content).digest("hex") !== stored.sha256) {
      throw new ChangeJournalError(`the record of change ${record.id} is damaged (${stored.blob} is missing or altered); it cannot be undone`);
    }
    return { type: "file", mode: stored.mode, size: stored.size, content };
  };
  return { changes: record.files.map((file) => ({ path: file.path, status: file.status, before: load(file.before), after: load(file.after) })) };
}

/** The unified diff recorded with a change. */
export function recordedPatch(workspaceDir: string, record: ChangeRecord): string {
  return readPrivateFile(join(workspaceDir, CHANGES_DIR, record.id, "patch.diff"));
}

/**
 * Reverts the newest change not yet undone (each call goes one further back) and marks it undone; returns it. The
 * undo is a change like any other: checked by `checkChangeSet` under `rules` (protected and secret paths, links,
 * sizes), refused whole with ChangeJournalError saying why; and refused with ChangeConflictError, naming the files,
 * when any changed since, unless `force`; refused with ChangeJournalError, naming the path, when a path of it is now
 * something the safe writer will not write through (a folder become a link, a file or a FIFO; a file become a full folder).
 */
export function undoLastChange(workspaceDir: string, options: { force?: boolean; rules?: ChangeRules } = {}): ChangeRecord {
  const record = listChanges(workspaceDir).find((change) => change.undone === undefined);
  if (record === undefined) throw new ChangeJournalError("there is no applied change to undo (org undo --list shows what was recorded)");
  const undo = reverseChangeSet(loadChangeSet(workspaceDir, record));
  const check = checkChangeSet(undo, { ...options.rules, workspaceDir });
  if (!check.ok) {
    throw new ChangeJournalError(
      `the undo of change ${record.id} was refused, as a change would be: ${check.message.replace(/^the change was refused whole; /, "")}`,
    );
  }
  try {
    applyChangeSet(workspaceDir, undo, { force: options.force, what: `the undo of change ${record.id}` });
  } catch (error) {
    // A path of the change that is now another kind of thing (a folder become a link, a file or a FIFO; a file become a full folder).
    if (!(error instanceof UnsafeWriteError)) throw error;
    throw new ChangeJournalError(
      `the undo of change ${record.id} was refused: ${error.message} Nothing of the undo was written; put ` +
        `that path back as the change left it (or move what is there now aside), then run org undo again.`,
    );
  }
  const undone = { ...record, undone: new Date().toISOString() };
  markUndone(workspaceDir, undone);
  return undone;
}

function markUndone(workspaceDir: string, record: ChangeRecord): void {
  writePrivateFile(join(workspaceDir, CHANGES_DIR, record.id, "change.json"), `${JSON.stringify(record, null, 2)}\n`, { durable: true });
  publishWorkspaceEvent(workspaceDir, { type: "change-recorded", id: record.id, undone: true });
}

function readRecord(workspaceDir: string, id: string): ChangeRecord | undefined {
  try {
    const parsed = changeRecordSchema().safeParse(JSON.parse(readPrivateFile(join(workspaceDir, CHANGES_DIR, id, "change.json"))));
    return parsed.success && parsed.data.id === id ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
