import { Database } from "bun:sqlite";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { errorCode } from "../concurrency/error-code.ts";
import { join, resolve } from "node:path";
import { sleep } from "../concurrency/sleep.ts";
import { orgVersion } from "../config/version.ts";
import { CONFIG_FILE_NAME, ORG_DIR } from "../config/workspace-paths.ts";
import { BundleError, bundleRefs, listRefs } from "../git/bundle.ts";
import { PromotionBlockedError, PromotionJournal } from "../cycle/promotion-journal.ts";
import { MAIN_REF, utcSecondStamp } from "../git/ref-names.ts";
import { RepoGit } from "../git/repo-git.ts";
import { carriedTrust } from "../mcp-client/mcp-trust.ts";
import { ownedTempDir } from "../security/owned-temp-dir.ts";
import { ensurePrivateDir, preparePrivateDatabase } from "../security/private-state.ts";
import {
  type BackupManifest,
  BUNDLE_ENTRY,
  CARRIED_TRUST_FILE,
  CONFIG_ENTRY,
  MANIFEST_ENTRY,
  REPO_STATE_PREFIX,
  WORKSPACE_STATE_PREFIX,
} from "./backup-manifest.ts";
import { STATE_SEALS_FILE, stateSeals } from "./restored-grants.ts";
import { stateFiles } from "./state-files.ts";
import { SourceChangedError, TarWriter } from "./tar-writer.ts";
import { OrgError } from "../errors/org-error.ts";

/** A backup could not be taken; the message says why and what to do. Nothing is left but what was there before. */
export class BackupError extends OrgError {
  override name = "BackupError";
}

/** What a backup is made of and where it goes. */
export type BackupRequest = {
  repoDir: string;
  workspaceDir: string;
  /** The folder the backup file is written to (made when missing). */
  dir: string;
  now?: () => Date;
  onProgress?: (line: string) => void;
  /** Databases this process holds open, by path: copied through that connection, never opened again here. */
  held?: ReadonlyMap<string, Database>;
  signal?: AbortSignal;
};

export type BackupOutcome = { path: string; manifest: BackupManifest; bytes: number; ms: number };

const JOURNAL_FILE = "promotion-journal.json";
/** How long a backup waits for a promote or rollback to let go of the lock before it gives up. */
const LOCK_WAIT_MS = 60_000;
/** Times the refs are read and bundled again when a promotion moved them between the two. */
const BUNDLE_TRIES = 3;

/** Makes the backup folder: a private folder when it is under `.org/`, else an ordinary one (0700 when new). */
export function ensureBackupDir(dir: string): string {
  const full = resolve(dir);
  if (full.split("/").includes(ORG_DIR)) return ensurePrivateDir(full);
  mkdirSync(full, { recursive: true, mode: 0o700 });
  if (!statSync(full).isDirectory()) throw new BackupError(`${full} is not a folder; give --to a folder for the backup`);
  return full;
}

/**
 * The refs of the repository and its promotion journal, read together under the promotion lock, so no promote or
 * rollback is halfway between them: what the backup's bundle must hold.
 */
async function refsUnderLock(
  repoDir: string,
  git: RepoGit,
  signal?: AbortSignal,
): Promise<{ refs: Map<string, string>; journal?: string; entry?: BackupManifest["journal"] }> {
  const journal = new PromotionJournal(repoDir);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      journal.lock();
      break;
    } catch (error) {
      if (!(error instanceof PromotionBlockedError) || Date.now() > deadline || signal?.aborted) {
        throw new BackupError(`the refs could not be read consistently: ${error instanceof Error ? error.message : String(error)}`);
      }
      await sleep(25, signal);
    }
  }
  try {
    const refs = await listRefs(git, signal);
    const entry = journal.read();
    if (!entry) return { refs };
    return { refs, journal: `${JSON.stringify(entry, null, 2)}\n`, entry: { op: entry.op, tag: entry.tag, step: entry.step } };
  } finally {
    journal.unlock();
  }
}

/** Bundles every ref into `file` and checks that it holds exactly the refs read under the lock; read again when a promotion moved one between. */
async function consistentBundle(repoDir: string, file: string, say: (line: string) => void, signal?: AbortSignal) {
  const git = new RepoGit(repoDir);
  for (let attempt = 1; ; attempt += 1) {
    const snapshot = await refsUnderLock(repoDir, git, signal);
    const main = snapshot.refs.get(MAIN_REF);
    if (main === undefined) throw new BackupError(`${repoDir} has no main branch; org backs up a checkout of org with its main`);
    say(`bundling ${snapshot.refs.size} refs (main, cand/*, promote/*, rollback/*, notes, every other ref)…`);
    rmSync(file, { force: true });
    try {
      await git.createBundle(file, signal);
    } catch (error) {
      throw new BundleError(`could not bundle the refs of ${repoDir}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const heads = await bundleRefs(git, file, signal);
    const moved = [...new Set([...snapshot.refs.keys(), ...heads.keys()])].filter((ref) => snapshot.refs.get(ref) !== heads.get(ref));
    if (moved.length === 0) return { ...snapshot, main };
    if (attempt >= BUNDLE_TRIES) throw new BackupError(`the refs kept moving while they were bundled (${moved.slice(0, 3).join(", ")}); try again`);
    say(`refs moved while they were bundled (${moved.slice(0, 3).join(", ")}); reading them again`);
  }
}

/**
 * An online copy of the SQLite database at `path` into `to` (`VACUUM INTO`), after `quick_check`, through `held` when
 * this process holds it open; the reason when it cannot be.
 */
function copyDatabase(path: string, to: string, held?: Database): string | undefined {
  let database: Database | undefined = held;
  try {
    if (!held) {
      preparePrivateDatabase(path);
      database = new Database(path, { readwrite: true, create: false, strict: true });
      database.exec("PRAGMA busy_timeout = 10000");
    }
    if (!database) return "not open";
    const check = database.query<{ quick_check: string }, []>("PRAGMA quick_check").all();
    if (check.length !== 1 || check[0]?.quick_check !== "ok")
      return `damaged (quick_check: ${check
        .map((row) => row.quick_check)
        .slice(0, 2)
        .join("; ")})`;
    database.query("VACUUM INTO ?").run(to);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    if (!held) database?.close();
  }
}

/** Writes the state files of one `.org/` folder under `prefix`; SQLite databases as online copies made in `scratch`. */
async function addState(
  writer: TarWriter,
  orgDir: string,
  prefix: string,
  scratch: string,
  manifest: Pick<BackupManifest, "entries" | "skipped">,
  held: ReadonlyMap<string, Database>,
) {
  for (const file of stateFiles(orgDir, new Set(held.keys()))) {
    if (file.relative === JOURNAL_FILE) continue;
    let source = file.path;
    if (file.kind === "sqlite") {
      source = join(scratch, `db-${manifest.entries.length}`);
      const problem = copyDatabase(file.path, source, held.get(file.path));
      if (problem !== undefined) {
        manifest.skipped.push({ path: file.path, reason: problem.slice(0, 2000) });
        continue;
      }
    }
    try {
      const written = await writer.addFile(`${prefix}${file.relative}`, source);
      if (written) manifest.entries.push(written);
    } catch (error) {
      if (!(error instanceof SourceChangedError)) throw error;
      manifest.skipped.push({ path: file.path, reason: error.message });
    }
  }
}

/**
 * The workspace's org.config.json as it is (a restored workspace keeps its settings, each guarded one waiting for `org
 * config trust` there), and its MCP confirmations sealed with the user's key (which stays behind).
 */
async function addWorkspaceSettings(writer: TarWriter, workspaceDir: string, same: boolean, manifest: Pick<BackupManifest, "entries">) {
  const config = await writer.addFile(CONFIG_ENTRY, join(workspaceDir, CONFIG_FILE_NAME));
  if (config) manifest.entries.push(config);
  const carried = carriedTrust(workspaceDir);
  if (Object.keys(carried.records).length > 0)
    manifest.entries.push(
      await writer.addBytes(`${same ? REPO_STATE_PREFIX : WORKSPACE_STATE_PREFIX}${CARRIED_TRUST_FILE}`, `${JSON.stringify(carried, null, 2)}\n`),
    );
}

/** A name for a new backup taken at `now`: the UTC second, with `-2`, `-3`… after the first `tries` are taken. */
function backupName(now: Date, index: number): string {
  return `org-backup-${utcSecondStamp(now)}${index === 1 ? "" : `-${index}`}.tar.gz`;
}

/** Moves the finished `partial` to the first free name of `now` (a link never replaces a file: no backup is overwritten). */
function publish(dir: string, partial: string, now: Date): string {
  for (let index = 1; ; index += 1) {
    const path = join(dir, backupName(now, index));
    try {
      linkSync(partial, path);
    } catch (error) {
      if (errorCode(error) === "EEXIST") continue;
      throw error;
    }
    rmSync(partial, { force: true });
    return path;
  }
}

/**
 * Takes a backup: one gzipped tar holding a git bundle of every ref (read under the promotion lock, so the refs and
 * the journal agree), the `.org/` state of the checkout and of the workspace (SQLite online copies, no caches), and a
 * manifest with each entry's size and SHA-256. Written as `<name>.partial`, fsynced and renamed, so a killed backup
 * leaves no file that looks whole (the supervisor removes what a dead one left).
 */
export async function takeBackup(request: BackupRequest): Promise<BackupOutcome> {
  const started = Date.now();
  const say = request.onProgress ?? (() => {});
  const now = (request.now ?? (() => new Date()))();
  const dir = ensureBackupDir(request.dir);
  // Both carry this pid (the folder its start time too): the supervisor removes those of a backup that died.
  const partial = join(dir, `${backupName(now, 1)}.${process.pid}.partial`);
  const scratch = ownedTempDir("backup-partial", dir);
  const writer = new TarWriter(partial);
  try {
    const bundle = join(scratch, "refs.bundle");
    const snapshot = await consistentBundle(request.repoDir, bundle, say, request.signal);
    const same = resolve(request.repoDir) === resolve(request.workspaceDir);
    const manifest: BackupManifest = {
      format: 1,
      takenAt: now.toISOString(),
      org: orgVersion(),
      repo: { path: resolve(request.repoDir), main: snapshot.main, refs: Object.fromEntries(snapshot.refs) },
      workspace: { path: resolve(request.workspaceDir), same },
      ...(snapshot.entry ? { journal: snapshot.entry } : {}),
      entries: [],
      skipped: [],
    };
    const bundled = await writer.addFile(BUNDLE_ENTRY, bundle);
    if (!bundled) throw new BackupError(`the bundle ${bundle} went missing before it was archived`);
    manifest.entries.push(bundled);
    if (snapshot.journal) manifest.entries.push(await writer.addBytes(`${REPO_STATE_PREFIX}${JOURNAL_FILE}`, snapshot.journal));
    say("copying the .org/ state (SQLite databases online)…");
    const held = request.held ?? new Map();
    await addState(writer, join(request.repoDir, ORG_DIR), REPO_STATE_PREFIX, scratch, manifest, held);
    if (!same) await addState(writer, join(request.workspaceDir, ORG_DIR), WORKSPACE_STATE_PREFIX, scratch, manifest, held);
    await addWorkspaceSettings(writer, request.workspaceDir, same, manifest);
    const seals = stateSeals(manifest.entries, same);
    if (seals !== undefined) manifest.entries.push(await writer.addBytes(`repo/${STATE_SEALS_FILE}`, seals));
    request.signal?.throwIfAborted();
    await writer.addBytes(MANIFEST_ENTRY, `${JSON.stringify(manifest, null, 2)}\n`);
    await writer.finish();
    const fd = openSync(partial, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const path = publish(dir, partial, now);
    const bytes = statSync(path).size;
    say(`wrote ${path}: ${manifest.entries.length} entries, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
    return { path, manifest, bytes, ms: Date.now() - started };
  } catch (error) {
    await writer.abort();
    rmSync(partial, { force: true });
    throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
