import { statSync, writeSync } from "node:fs";
import { z } from "zod";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { BackupManifest, BUNDLE_ENTRY, CONFIG_ENTRY, MANIFEST_ENTRY, REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX } from "./backup-manifest.ts";
import { type ExpansionBound, ImplausibleBackupError } from "./expansion-limit.ts";
import { RESTORE_BUNDLE, RESTORE_CONFIG, RESTORE_RECORD } from "./restore-record.ts";
import { readTar, type TarEntry } from "./tar-reader.ts";
import { TarError } from "./tar-header.ts";
import { OrgError } from "../errors/org-error.ts";

/** A backup that is not whole or not org's: the message names the entry and what is wrong with it. */
export class BadBackupError extends OrgError {
  override name = "BadBackupError";
}

/** A backup holds more than there is room to write: the message says how much, where, and what to do. */
export class NoRoomError extends OrgError {
  override name = "NoRoomError";
}

const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
// A segment of an entry's path: no NUL or control character, not "." or "..", no slash, at most 255 bytes.
const SEGMENT = /^(?!\.{1,2}$)[^\0-\x1f\x7f/]{1,255}$/;

/**
 * Whether `name` is a path a backup may hold: the bundle, the manifest, the workspace's config, or a file under
 * `repo/.org/` or `workspace/.org/`, relative, every segment plain (no `..`, no empty or `.` segment, no control character).
 */
export function isBackupEntryName(name: string): boolean {
  if (name === BUNDLE_ENTRY || name === MANIFEST_ENTRY || name === CONFIG_ENTRY) return true;
  const prefix = [REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX].find((candidate) => name.startsWith(candidate));
  if (prefix === undefined || name.length > 4096) return false;
  return name
    .slice(prefix.length)
    .split("/")
    .every((segment) => SEGMENT.test(segment));
}

/** The folders on the way to the bundle and the state prefixes: `git`, `repo`, `repo/.org`, `workspace`, `workspace/.org`. */
const FOLDERS_ON_THE_WAY = new Set(
  [BUNDLE_ENTRY, REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX].flatMap((path) => {
    const parts = path.split("/").filter(Boolean);
    return parts.slice(0, path.endsWith("/") ? parts.length : -1).map((_, index) => parts.slice(0, index + 1).join("/"));
  }),
);

/**
 * Whether `name` is a folder a backup may hold (as its entry names it, with or without the trailing `/`): a folder on the
 * way to a path it holds, or under `repo/.org/` or `workspace/.org/`, every segment plain.
 */
export function isBackupFolderName(name: string): boolean {
  const folder = name.endsWith("/") ? name.slice(0, -1) : name;
  if (FOLDERS_ON_THE_WAY.has(folder)) return true;
  return [REPO_STATE_PREFIX, WORKSPACE_STATE_PREFIX].some((prefix) => folder.startsWith(prefix)) && isBackupEntryName(folder);
}

/**
 * Where a restore puts a state entry, relative to its `--to` folder: `.org/…` when the checkout and the workspace were
 * one folder, else `checkout/.org/…` and `workspace/.org/…`. Undefined for the bundle, the manifest and the config
 * (a restore keeps those apart until the checkout is built).
 */
export function restoredPlace(name: string, same: boolean): string | undefined {
  if (name.startsWith(REPO_STATE_PREFIX)) return `${same ? "" : "checkout/"}${ORG_DIR}/${name.slice(REPO_STATE_PREFIX.length)}`;
  if (name.startsWith(WORKSPACE_STATE_PREFIX)) return `${same ? "" : "workspace/"}${ORG_DIR}/${name.slice(WORKSPACE_STATE_PREFIX.length)}`;
  return undefined;
}

/** What a restore makes itself in each `.org/` folder (its record and the bundle it checks out, while it runs), which no entry may be. */
const MADE_BY_RESTORE = [".gitignore", RESTORE_RECORD, RESTORE_BUNDLE, RESTORE_CONFIG];

/**
 * The first entry a restore could not write where it goes: a place another entry takes too (the same file under both
 * prefixes of a one-folder backup), a file where another entry needs a folder, or a file the restore makes itself.
 */
function placeClash(names: readonly string[], same: boolean): string | undefined {
  const taken = new Map<string, string>();
  for (const name of names) {
    const place = restoredPlace(name, same);
    if (place === undefined) continue;
    const other = taken.get(place);
    if (other !== undefined) return `the entry ${shownName(name)} would be restored where ${shownName(other)} is (${place})`;
    if (MADE_BY_RESTORE.some((made) => place.endsWith(`${ORG_DIR}/${made}`)))
      return `the entry ${shownName(name)} is a file the restore makes itself (${place})`;
    taken.set(place, name);
  }
  for (const [place, name] of taken) {
    for (let slash = place.indexOf("/", place.indexOf(`${ORG_DIR}/`) + ORG_DIR.length + 1); slash !== -1; slash = place.indexOf("/", slash + 1)) {
      const file = taken.get(place.slice(0, slash));
      if (file !== undefined)
        return `the entry ${shownName(name)} needs ${place.slice(0, slash)} to be a folder, and the entry ${shownName(file)} is a file there`;
    }
  }
  return undefined;
}

/** The name as a message shows it: quoted, cut short, control characters escaped. */
export function shownName(name: string): string {
  return JSON.stringify(name.slice(0, 200));
}

/** Reads an entry's bytes through, hashing them; `keep` sees each chunk (a restore writes them). */
export async function hashEntry(entry: TarEntry, keep?: (chunk: Buffer) => void | Promise<void>): Promise<{ size: number; sha256: string }> {
  const hash = new Bun.CryptoHasher("sha256");
  let size = 0;
  for await (const chunk of entry.chunks()) {
    hash.update(chunk);
    size += chunk.length;
    await keep?.(chunk);
  }
  return { size, sha256: hash.digest("hex") };
}

/** Reads an entry's bytes through, hashing them and writing each chunk whole to the open file `fd`. */
export function writeEntryTo(entry: TarEntry, fd: number): Promise<{ size: number; sha256: string }> {
  return hashEntry(entry, (chunk) => {
    for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
  });
}

/** How a pass over a backup reads it (`checkBackup`). */
export type CheckOptions = {
  /** Sees each file entry's bytes as they are read (a restore writes them), before they are known to be right. */
  onFile?: (name: string, entry: TarEntry) => Promise<{ size: number; sha256: string }>;
  /**
   * The manifest an earlier pass read: each entry must be one it lists, with the size it gives, before a byte of it is
   * read (the file may have been swapped since), so no more is written than it says.
   */
  manifest?: BackupManifest;
  /**
   * What the entries may hold in all, by the sizes their headers give: past it the pass stops before reading the entry
   * that crosses it (a gzip bomb is stopped as it is read), throwing NoRoomError with `refusal`'s message.
   */
  room?: { bytes: number; refusal: (needed: number) => string };
  /**
   * What the entries may declare in all for the archive's size (`expansionLimit`): past it the pass stops before reading
   * the entry that crosses it, throwing ImplausibleBackupError with `refusal`'s message. Asked after `room`.
   */
  expansion?: ExpansionBound & { consumed: (compressedBytes: number) => ExpansionBound };
};

/**
 * Reads a backup through once: every entry is a file or folder with a name a backup may hold, none twice; the manifest
 * (the last entry) parses; every entry it lists is there with its size and SHA-256; nothing else is. Throws
 * BadBackupError naming the first entry that is wrong, or saying where the archive is cut short; NoRoomError past
 * `room`; ImplausibleBackupError past `expansion`.
 */
export async function checkBackup(path: string, options: CheckOptions = {}): Promise<BackupManifest> {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new BadBackupError(`there is no backup file at ${path}`);
  const seen = new Map<string, { size: number; sha256: string }>();
  const expected = options.manifest ? new Map(options.manifest.entries.map((entry) => [entry.name, entry.size])) : undefined;
  let declared = 0;
  let manifestText: string | undefined;
  const count = { compressedBytes: 0 };
  try {
    for await (const entry of readTar(path, count)) {
      if (manifestText !== undefined)
        throw new BadBackupError(`${path}: the entry ${shownName(entry.name)} comes after the manifest, which is the last entry of a backup`);
      if (entry.type === "directory") {
        // Nothing is made of a folder entry, but a name no backup holds says the archive is not one org wrote.
        if (!isBackupFolderName(entry.name))
          throw new BadBackupError(
            `${path}: the folder entry ${shownName(entry.name)} is no path a backup holds (only folders under ` +
              `${REPO_STATE_PREFIX} and ${WORKSPACE_STATE_PREFIX}, without '..')`,
          );
        continue;
      }
      if (!isBackupEntryName(entry.name))
        throw new BadBackupError(
          `${path}: the entry ${shownName(entry.name)} is no path a backup holds (only the bundle, the ` +
            `manifest, ${CONFIG_ENTRY} and files under ${REPO_STATE_PREFIX} and ${WORKSPACE_STATE_PREFIX}, without '..')`,
        );
      if (seen.has(entry.name)) throw new BadBackupError(`${path}: the entry ${shownName(entry.name)} is there twice`);
      if (expected && entry.name !== MANIFEST_ENTRY && expected.get(entry.name) !== entry.size)
        throw new BadBackupError(
          `${path}: the entry ${shownName(entry.name)} ${
            expected.has(entry.name) ? `holds ${entry.size} ` + `bytes, the manifest says ${expected.get(entry.name)}` : "is not in the manifest"
          }: the file changed since it was checked`,
        );
      declared += entry.size;
      if (options.room && declared > options.room.bytes) throw new NoRoomError(options.room.refusal(declared));
      if (options.expansion && declared > options.expansion.bytes) throw new ImplausibleBackupError(options.expansion.refusal(declared));
      if (entry.name === MANIFEST_ENTRY) {
        if (entry.size > MAX_MANIFEST_BYTES) throw new BadBackupError(`${path}: its manifest is larger than any org writes`);
        const parts: Buffer[] = [];
        await hashEntry(entry, (chunk) => {
          parts.push(chunk);
        });
        manifestText = Buffer.concat(parts).toString("utf8");
        continue;
      }
      seen.set(entry.name, options.onFile ? await options.onFile(entry.name, entry) : await hashEntry(entry));
    }
  } catch (error) {
    if (error instanceof TarError) throw new BadBackupError(error.message);
    throw error;
  }
  if (manifestText === undefined) throw new BadBackupError(`${path} has no manifest: it is cut short, or not a backup org made`);
  // Measured again by what the gzip stream took, now known, rather than by the file's size.
  const exact = options.expansion?.consumed(count.compressedBytes);
  if (exact && declared > exact.bytes) throw new ImplausibleBackupError(exact.refusal(declared));
  return matchManifest(path, manifestText, seen);
}

function matchManifest(path: string, text: string, seen: Map<string, { size: number; sha256: string }>): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = BackupManifest.parse(JSON.parse(text));
  } catch (error) {
    const why = error instanceof z.ZodError ? (error.issues[0]?.message ?? "does not fit") : error instanceof Error ? error.message : String(error);
    throw new BadBackupError(`${path}: its manifest is damaged (${why.split("\n")[0]})`);
  }
  const listed = new Set<string>();
  for (const entry of manifest.entries) {
    listed.add(entry.name);
    const found = seen.get(entry.name);
    if (!found) throw new BadBackupError(`${path}: the entry ${shownName(entry.name)} is in the manifest but not in the archive`);
    if (found.size !== entry.size)
      throw new BadBackupError(`${path}: the entry ${shownName(entry.name)} holds ${found.size} bytes, the manifest says ${entry.size}`);
    if (found.sha256 !== entry.sha256)
      throw new BadBackupError(`${path}: the entry ${shownName(entry.name)} does not match its SHA-256 in the manifest: it was altered`);
  }
  const extra = [...seen.keys()].find((name) => !listed.has(name));
  if (extra !== undefined) throw new BadBackupError(`${path}: the entry ${shownName(extra)} is not in the manifest`);
  if (!listed.has(BUNDLE_ENTRY)) throw new BadBackupError(`${path}: the manifest lists no git bundle`);
  // What a restore would refuse, verify refuses: two entries for one place, a file in the way of a folder.
  const clash = placeClash([...listed], manifest.workspace.same);
  if (clash !== undefined) throw new BadBackupError(`${path}: ${clash}; a restore could not write it`);
  return manifest;
}
