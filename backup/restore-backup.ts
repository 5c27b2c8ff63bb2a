import { closeSync, constants, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { CONFIG_FILE_NAME, ORG_DIR } from "../config/workspace-paths.ts";
import { checkOut, emptyRepository, fetchBundle, listRefs, REPLACE_REFS } from "../git/bundle.ts";
import { excludeIfUntracked } from "../git/local-exclude.ts";
import { RepoGit } from "../git/repo-git.ts";
import { reanchorGrowCursor } from "../grow/restored-cursor.ts";
import { formatBytes } from "../sandbox/run-watchdog.ts";
import { ownerOfTempDir } from "../security/owned-temp-dir.ts";
import { ensureOrgDir, ensurePrivateDir, openPrivateFile } from "../security/private-state.ts";
import { type BackupManifest, BUNDLE_ENTRY, CONFIG_ENTRY } from "./backup-manifest.ts";
import { BadBackupError, checkBackup, NoRoomError, restoredPlace, shownName, writeEntryTo } from "./check-backup.ts";
import { expansionLimit, ImplausibleBackupError } from "./expansion-limit.ts";
import { roomIn, SPARE_BYTES } from "./free-space.ts";
import { mainTree } from "./main-tree.ts";
import { placeRestoredConfig, type RestoredConfig } from "./restored-config.ts";
import { checkRestoredGrants, type RestoredGrants } from "./restored-grants.ts";
import { type RestoredTrust, rebindRestoredTrust } from "./restored-mcp-trust.ts";
import { resealRestoredTranscripts } from "./restored-transcripts.ts";
import {
  beginRestoreRecord,
  clearRestored,
  RESTORE_BUNDLE,
  RESTORE_CONFIG,
  RESTORE_RECORD,
  type RestoreRecord,
  readRestoreRecord,
  recordMade,
  restoreGone,
} from "./restore-record.ts";
import type { TarEntry } from "./tar-reader.ts";
import { OrgError } from "../errors/org-error.ts";

export type RestoreOutcome = {
  checkoutDir: string;
  workspaceDir: string;
  main: string;
  refs: number;
  files: number;
  manifest: BackupManifest;
  /** Cursor marks of `org grow` moved to the restored files. */
  cursorMarks: number;
  /** The workspace's MCP confirmations, bound to the restored workspace or not. */
  mcpTrust: RestoredTrust;
  /** The checkout's gate key and promotion journal: each kept only when this user's org sealed it. */
  grants: RestoredGrants;
  /** The workspace's org.config.json, put back, with its settings that wait for `org config trust`. */
  config: RestoredConfig;
  /** The bundle's `refs/replace/` refs, not restored. */
  leftOut: string[];
};

/** The line beside org.config.json in a restored checkout's .git/info/exclude. */
const RESTORED_CONFIG_WHY = "org restore: the workspace's org.config.json, put back from a backup (main does not track it)";

/** A restore refused before it wrote anything (a folder that is not empty), or undone after it failed. */
export class RestoreError extends OrgError {
  override name = "RestoreError";
}

/**
 * Where the restore puts things: the checkout and the workspace (one folder, or `checkout/` and `workspace/`), and the
 * bundle and the workspace's config while it runs (the checkout would write over the config).
 */
type Layout = { to: string; checkoutDir: string; workspaceDir: string; bundle: string; config: string };

/** Names as a message shows them: a few, quoted, and how many more. */
function shownNames(names: readonly string[]): string {
  const shown = names.slice(0, 4).map(shownName).join(", ");
  return names.length > 4 ? `${shown} and ${names.length - 4} more` : shown;
}

/**
 * Takes `to` for a restore: made when missing, refused when it is a file or a folder with anything in it, but what a
 * restore that was killed made there, as its record in `to/.org/` lists it (`restore-record.ts`): that is cleared, and
 * said. Anything else in `to` (a folder named like a staging folder too) refuses the restore, naming it.
 */
function claimTarget(to: string, say: (line: string) => void): { created: boolean } {
  const stat = statSync(to, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new RestoreError(`${to} is a file; give --to a new or empty folder`);
  const names = stat ? readdirSync(to) : [];
  if (names.length > 0) {
    const record = readRestoreRecord(to);
    if (!record) {
      const lookalike = names.some((name) => ownerOfTempDir(name)?.kind === "restore")
        ? " (a folder named like a restore's staging folder is no sign of one: only a restore's own record in .org/ is)"
        : "";
      throw new RestoreError(
        `${to} is not empty (it holds ${shownNames(names)}); a restore writes only into a new or empty ` +
          `folder, so nothing there is overwritten${lookalike}: give --to a new folder, or empty this one`,
      );
    }
    if (!restoreGone(record))
      throw new RestoreError(
        `${to} is being restored into by another org restore (pid ${record.pid}); wait for it to end, or give --to another folder`,
      );
    const other = names.filter((name) => !record.made.includes(name));
    if (other.length > 0)
      throw new RestoreError(
        `${to} holds what a restore that was interrupted (pid ${record.pid}) made, and ${shownNames(other)}, ` +
          `which it did not make; nothing was removed: move ${other.length === 1 ? "that" : "those"} out of ${to}, or give --to another folder`,
      );
    const cleared = clearRestored(to, record);
    say(`cleared ${to}: a restore there (pid ${record.pid}) was interrupted and is gone; ${cleared} entries it wrote removed`);
  }
  if (!stat) mkdirSync(to, { recursive: true, mode: 0o755 });
  return { created: !stat };
}

/** Where an entry of the archive is written; every path stays inside `to` (names were checked, and this checks again). */
function targetOf(layout: Layout, name: string): string {
  if (name === BUNDLE_ENTRY) return layout.bundle;
  if (name === CONFIG_ENTRY) return layout.config;
  const place = restoredPlace(name, layout.checkoutDir === layout.workspaceDir);
  if (place === undefined) throw new BadBackupError(`the entry ${shownName(name)} has no place in a restore`);
  const target = resolve(layout.to, place);
  const base = resolve(layout.to, place.slice(0, place.indexOf(ORG_DIR) + ORG_DIR.length));
  if (!target.startsWith(`${base}${sep}`) || !target.startsWith(`${layout.to}${sep}`))
    throw new BadBackupError(`the entry ${shownName(name)} would land outside ${layout.to}`);
  return target;
}

/** Writes one entry's bytes to its place (a new 0600 file, no link followed on the way), hashing them. */
async function writeEntry(layout: Layout, name: string, entry: TarEntry): Promise<{ size: number; sha256: string }> {
  const target = targetOf(layout, name);
  if (name !== BUNDLE_ENTRY && name !== CONFIG_ENTRY) ensurePrivateDir(dirname(target));
  const fd = openPrivateFile(target, constants.O_WRONLY | constants.O_EXCL);
  try {
    return await writeEntryTo(entry, fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Builds the checkout from the restored bundle: verified by git, every ref the manifest names but `refs/replace/` (git
 * reads no replacement), main's tree checked (no `.org` in it, where the restored state lies; its files fit in what is
 * free) and its top-level names recorded before main is checked out.
 */
async function buildCheckout(
  layout: Layout,
  manifest: BackupManifest,
  record: RestoreRecord,
  signal?: AbortSignal,
): Promise<{ main: string; refs: number; leftOut: string[] }> {
  const git = await emptyRepository(layout.checkoutDir, signal);
  const verified = await git.verifyBundle(layout.bundle, signal);
  if (!verified.ok)
    throw new BadBackupError(`the entry "${BUNDLE_ENTRY}" is no whole git bundle: ${verified.problem.split("\n").slice(0, 3).join(" ")}`);
  const { main, leftOut } = await fetchBundle(git, layout.bundle, signal);
  const { top, bytes: size } = await mainTree(git, main, signal);
  const room = roomIn(layout.checkoutDir);
  if (size > room)
    throw new NoRoomError(
      `main's files come to ${formatBytes(size)} checked out, more than the ${formatBytes(room)} free in ` +
        `${layout.to} (less ${formatBytes(SPARE_BYTES)} kept free): free some space, or restore elsewhere`,
    );
  if (layout.checkoutDir === layout.to) recordMade(layout.to, record, top);
  await checkOut(git, signal);
  const refs = await listRefs(git, signal);
  const missing = Object.entries(manifest.repo.refs).find(([ref, id]) => !ref.startsWith(REPLACE_REFS) && refs.get(ref) !== id);
  if (missing)
    throw new BadBackupError(`the restored repository has ${missing[0]} at ${refs.get(missing[0]) ?? "nothing"}, the manifest says ${missing[1]}`);
  return { main, refs: refs.size, leftOut };
}

/** What `restoreBackup` is asked. */
type RestoreRequest = {
  file: string;
  to: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** The environment MCP servers' launches are read under (PATH finds their programs); the process's when absent. */
  env?: NodeJS.ProcessEnv;
  /** `--allow-large`: restore a backup whose entries declare more than `expansionLimit` allows for its size. */
  allowLarge?: boolean;
};

/**
 * `org restore FILE --to DIR`: checks the whole backup first (every hash, nothing missing or extra, nothing but plain
 * files with plain names), then writes into `to`, which must be new or empty, and nowhere else: a checkout of main with
 * every ref of the bundle (but replace refs), and the `.org/` state of the checkout and the workspace (one folder when
 * they were one, else `checkout/` and `workspace/`). What it writes is bounded: the manifest's sizes, checked against
 * the free space in `to` before anything is written (a backup that holds more is stopped as it is read), each entry
 * no larger than the manifest says, main's files checked the same way before checkout; and, unless `allowLarge`, the
 * declared sizes against the archive's own (`expansionLimit`: a 1 MiB file declaring 1 GiB is refused unread). `org grow`'s cursor is moved to
 * the restored files. A restore that fails removes what it made, as its record lists it.
 */
export async function restoreBackup(request: RestoreRequest): Promise<RestoreOutcome> {
  const say = request.onProgress ?? (() => {});
  const to = resolve(request.to);
  if (!existsSync(request.file)) throw new RestoreError(`there is no backup file at ${request.file}`);
  say(`checking ${request.file}…`);
  const space = roomIn(to);
  const noRoom = (needed: number) =>
    `${request.file} holds ${formatBytes(needed)} or more, more than the ${formatBytes(space)} free in ${to} ` +
    `(less ${formatBytes(SPARE_BYTES)} kept free): free some space, or restore elsewhere`;
  const manifest = await checkBackup(request.file, {
    room: { bytes: space, refusal: noRoom },
    ...(request.allowLarge ? {} : { expansion: expansionLimit(request.file, "restore it with 'org restore --allow-large'") }),
  });
  // The entries, and the bundle's pack once more in the checkout's .git.
  const needed =
    manifest.entries.reduce((sum, entry) => sum + entry.size, 0) + (manifest.entries.find((entry) => entry.name === BUNDLE_ENTRY)?.size ?? 0);
  if (needed > roomIn(to)) throw new NoRoomError(noRoom(needed));
  const claim = claimTarget(to, say);
  const same = manifest.workspace.same;
  const layout: Layout = {
    to,
    checkoutDir: same ? to : join(to, "checkout"),
    workspaceDir: same ? to : join(to, "workspace"),
    bundle: join(to, ORG_DIR, RESTORE_BUNDLE),
    config: join(to, ORG_DIR, RESTORE_CONFIG),
  };
  // First in and last out: while the record is there, what is in `to` is a restore under way (or one that was killed).
  let record: RestoreRecord | undefined;
  try {
    ensureOrgDir(to);
    record = beginRestoreRecord(to, same ? [".git"] : ["checkout", "workspace"]);
  } catch (error) {
    if (claim.created) rmSync(to, { recursive: true, force: true });
    throw error;
  }
  if (!record) throw new RestoreError(`${to} is being restored into by another org restore; wait for it to end, or give --to another folder`);
  try {
    say(`writing ${manifest.entries.length} entries (${formatBytes(needed)} with the checkout's history) into ${to}…`);
    return await fill(layout, manifest, record, request);
  } catch (error) {
    // Only what this restore made, as its record lists it (on disk: names are added to it as they are about to be made).
    clearRestored(to, readRestoreRecord(to) ?? record);
    if (claim.created) {
      try {
        rmdirSync(to);
      } catch {
        // Something else is in it now: it stays.
      }
    }
    if (error instanceof BadBackupError || error instanceof RestoreError || error instanceof NoRoomError || error instanceof ImplausibleBackupError)
      throw error;
    throw new RestoreError(`the restore failed and what it wrote in ${to} was removed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Writes the state and builds the checkout into a claimed, recorded `to`; last, removes the bundle and the record. */
async function fill(layout: Layout, manifest: BackupManifest, record: RestoreRecord, request: RestoreRequest): Promise<RestoreOutcome> {
  const say = request.onProgress ?? (() => {});
  mkdirSync(layout.checkoutDir, { recursive: true });
  mkdirSync(layout.workspaceDir, { recursive: true });
  ensureOrgDir(layout.checkoutDir);
  ensureOrgDir(layout.workspaceDir);
  // Read again: each entry must be as the manifest says before a byte of it is written, so a file swapped meanwhile
  // writes no more than was checked, and fails here.
  await checkBackup(request.file, { manifest, onFile: (name, entry) => writeEntry(layout, name, entry) });
  say("building the checkout from the git bundle…");
  const built = await buildCheckout(layout, manifest, record, request.signal);
  if (built.leftOut.length > 0)
    say(
      `left out ${built.leftOut.length} replace ref(s) of the bundle (${shownNames(built.leftOut)}): through ` +
        `them git would show other commits than those named`,
    );
  // Sealed for the restored workspace first, in place (every line where it was), then the cursor names the files.
  resealRestoredTranscripts(layout.workspaceDir, manifest.workspace.path);
  const cursorMarks = reanchorGrowCursor(layout.workspaceDir);
  // The config goes where the checkout may have put its own: in a one-folder restore, a name of `to` it makes.
  if (layout.checkoutDir === layout.to && existsSync(layout.config)) recordMade(layout.to, record, [CONFIG_FILE_NAME]);
  const placed = placeRestoredConfig(layout.config, layout.workspaceDir, request.env);
  // In the checkout's own folder, a config main does not track is the workspace's state, not the checkout's work: kept
  // out of git status, as the original's ignore rules (a global one, its own .git/info/exclude) kept it.
  const excluded =
    placed.restored &&
    layout.checkoutDir === layout.workspaceDir &&
    (await excludeIfUntracked(new RepoGit(layout.checkoutDir), CONFIG_FILE_NAME, RESTORED_CONFIG_WHY, request.signal));
  const config = { ...placed, excluded };
  const mcpTrust = rebindRestoredTrust(layout.workspaceDir, manifest, request.env);
  const grants = checkRestoredGrants(layout, manifest, request.env);
  rmSync(layout.bundle, { force: true });
  if (layout.checkoutDir === layout.to) rmSync(join(layout.to, ORG_DIR, RESTORE_RECORD), { force: true });
  else rmSync(join(layout.to, ORG_DIR), { recursive: true, force: true });
  return {
    checkoutDir: layout.checkoutDir,
    workspaceDir: layout.workspaceDir,
    main: built.main,
    refs: built.refs,
    files: manifest.entries.length - 1,
    manifest,
    cursorMarks,
    mcpTrust,
    grants,
    config,
    leftOut: built.leftOut,
  };
}
