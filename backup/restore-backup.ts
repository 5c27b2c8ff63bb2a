import { closeSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { emptyRepository, listRefs, restoreFromBundle } from "../git/bundle.ts";
import { reanchorGrowCursor } from "../grow/restored-cursor.ts";
import { ownedTempDir, ownerGone, ownerOfTempDir } from "../security/owned-temp-dir.ts";
import { ensureOrgDir, ensurePrivateDir, openPrivateFile } from "../security/private-state.ts";
import { type BackupManifest, BUNDLE_ENTRY, CONFIG_ENTRY } from "./backup-manifest.ts";
import { BadBackupError, checkBackup, restoredPlace, shownName, writeEntryTo } from "./check-backup.ts";
import { type RestoredTrust, rebindRestoredTrust } from "./restored-mcp-trust.ts";
import { placeRestoredConfig, type RestoredConfig } from "./restored-config.ts";
import type { TarEntry } from "./tar-reader.ts";

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
  /** The workspace's org.config.json, put back, with its settings that wait for `org config trust`. */
  config: RestoredConfig;
};

/** A restore refused before it wrote anything (a folder that is not empty), or undone after it failed. */
export class RestoreError extends Error {
  override name = "RestoreError";
  readonly userFacing = true;
}

/** Where the restore puts things: the checkout and the workspace (one folder, or `checkout/` and `workspace/`). */
type Layout = { to: string; checkoutDir: string; workspaceDir: string; staging: string };

/** The kind of the folder a restore makes in `to` first and removes last (`org-restore-<pid>-<start>-XXXXXX`): while it is there, `to` is being restored. */
const STAGING_KIND = "restore";

/** The restore whose staging folder is in `to`'s entries, or undefined: its pid, and whether that process is gone. */
function restoreUnderWay(to: string, names: readonly string[]): { name: string; pid: number; gone: boolean } | undefined {
  for (const name of names) {
    const owner = ownerOfTempDir(name);
    if (owner?.kind !== STAGING_KIND) continue;
    const stat = lstatSync(join(to, name), { throwIfNoEntry: false });
    if (stat?.isDirectory() && stat.uid === process.getuid?.()) return { name, pid: owner.pid, gone: ownerGone(owner) };
  }
  return undefined;
}

/**
 * Takes `to` for a restore: made when missing, refused when it is a file or a folder with anything in it, but what a
 * restore that was killed left there (its staging folder names its owner, who is gone): that is cleared, and said.
 */
function claimTarget(to: string, say: (line: string) => void): { created: boolean } {
  const stat = statSync(to, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) throw new RestoreError(`${to} is a file; give --to a new or empty folder`);
  const names = stat ? readdirSync(to) : [];
  if (names.length > 0) {
    const earlier = restoreUnderWay(to, names);
    if (earlier && !earlier.gone)
      throw new RestoreError(`${to} is being restored into by another org restore (pid ${earlier.pid}); wait for it to end, or give --to another folder`);
    if (!earlier) throw new RestoreError(`${to} is not empty; a restore writes only into a new or empty folder, so nothing there is overwritten`);
    // A restore takes only an empty folder and makes its staging folder first: all that is here is what it wrote.
    for (const name of names) rmSync(join(to, name), { recursive: true, force: true });
    say(`cleared ${to}: a restore there (pid ${earlier.pid}) was interrupted and is gone; ${names.length} entries it wrote removed`);
  }
  if (!stat) mkdirSync(to, { recursive: true, mode: 0o755 });
  return { created: !stat };
}

/** Where an entry of the archive is written; every path stays inside `to` (names were checked, and this checks again). */
function targetOf(layout: Layout, name: string): string {
  if (name === BUNDLE_ENTRY) return join(layout.staging, "refs.bundle");
  if (name === CONFIG_ENTRY) return join(layout.staging, "org.config.json");
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

/** Builds the checkout from the restored bundle: verified by git, every ref the manifest names, main checked out. */
async function buildCheckout(layout: Layout, manifest: BackupManifest, signal?: AbortSignal): Promise<{ main: string; refs: number }> {
  const bundle = join(layout.staging, "refs.bundle");
  const git = await emptyRepository(layout.checkoutDir, signal);
  const verified = await git.verifyBundle(bundle, signal);
  if (!verified.ok) throw new BadBackupError(`the entry "${BUNDLE_ENTRY}" is no whole git bundle: ${verified.problem.split("\n").slice(0, 3).join(" ")}`);
  const main = await restoreFromBundle(git, bundle, signal);
  const refs = await listRefs(git, signal);
  const missing = Object.entries(manifest.repo.refs).find(([ref, id]) => refs.get(ref) !== id);
  if (missing) throw new BadBackupError(`the restored repository has ${missing[0]} at ${refs.get(missing[0]) ?? "nothing"}, the manifest says ${missing[1]}`);
  return { main, refs: refs.size };
}

/**
 * `org restore FILE --to DIR`: checks the whole backup first (every hash, nothing missing or extra, nothing but plain
 * files with plain names), then writes into `to`, which must be new or empty, and nowhere else: a checkout of main with
 * every ref of the bundle, and the `.org/` state of the checkout and the workspace (one folder when they were one,
 * else `checkout/` and `workspace/`). `org grow`'s cursor is moved to the restored files. A restore that fails removes
 * what it wrote.
 */
export async function restoreBackup(request: {
  file: string;
  to: string;
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** The environment MCP servers' launches are read under (PATH finds their programs); the process's when absent. */
  env?: NodeJS.ProcessEnv;
}): Promise<RestoreOutcome> {
  const say = request.onProgress ?? (() => {});
  const to = resolve(request.to);
  if (!existsSync(request.file)) throw new RestoreError(`there is no backup file at ${request.file}`);
  say(`checking ${request.file}…`);
  const manifest = await checkBackup(request.file);
  const claim = claimTarget(to, say);
  const same = manifest.workspace.same;
  try {
    // First in and last out: while it is here, what is in `to` is a restore under way (or one that was killed).
    const layout: Layout = {
      to,
      checkoutDir: same ? to : join(to, "checkout"),
      workspaceDir: same ? to : join(to, "workspace"),
      staging: ownedTempDir(STAGING_KIND, to),
    };
    say(`writing ${manifest.entries.length} entries into ${to}…`);
    mkdirSync(layout.checkoutDir, { recursive: true });
    mkdirSync(layout.workspaceDir, { recursive: true });
    ensureOrgDir(layout.checkoutDir);
    ensureOrgDir(layout.workspaceDir);
    // Read again: what is written is checked against the manifest once more, so a file swapped meanwhile fails here.
    await checkBackup(request.file, (name, entry) => writeEntry(layout, name, entry));
    say("building the checkout from the git bundle…");
    const { main, refs } = await buildCheckout(layout, manifest, request.signal);
    const cursorMarks = reanchorGrowCursor(layout.workspaceDir);
    const config = placeRestoredConfig(join(layout.staging, "org.config.json"), layout.workspaceDir, request.env);
    const mcpTrust = rebindRestoredTrust(layout.workspaceDir, manifest, request.env);
    rmSync(layout.staging, { recursive: true, force: true });
    return {
      checkoutDir: layout.checkoutDir,
      workspaceDir: layout.workspaceDir,
      main,
      refs,
      files: manifest.entries.length - 1,
      manifest,
      cursorMarks,
      mcpTrust,
      config,
    };
  } catch (error) {
    for (const name of readdirSync(to)) rmSync(join(to, name), { recursive: true, force: true });
    if (claim.created) rmSync(to, { recursive: true, force: true });
    if (error instanceof BadBackupError || error instanceof RestoreError) throw error;
    throw new RestoreError(`the restore failed and what it wrote in ${to} was removed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
