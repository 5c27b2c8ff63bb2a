import { type BigIntStats, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { errorCode } from "../concurrency/error-code.ts";
import { SANDBOX_HOST_UID } from "../sandbox/bwrap-argv.ts";
import { listingSettled } from "../sandbox/measure-tree.ts";
import { secretPathMatcher } from "./check-change-set.ts";
import { gitConfigName, gitConfigsAmong } from "./git-config-covers.ts";
import { listingsKey, loadRemembered, type RememberedWalk, type StoredListing, saveRemembered, walkStamp } from "./remembered-listings.ts";
import { EXCLUDED_TOP, TreeTooLargeError } from "./tree-snapshot.ts";

/**
 * A workspace's secret files and folders (workspace-relative), each covered in the read view; how many folders the scan
 * read, and whether it took the last walk's findings whole (`keptWalk`: every folder that walk reached unchanged); and
 * the git configs below the top (`gitConfigs`: a nested repository's, a bare one's), which the views show without their
 * credentials (`git-config-covers.ts`). A secret below a folder the sandbox's uid may not enter has that folder in
 * `folders` instead: bubblewrap, running as that uid, could not reach the secret to cover it, and the folder's cover
 * hides nothing it could read.
 */
export type SecretEntries = { files: string[]; folders: string[]; foldersRead: number; keptWalk: boolean; gitConfigs: string[] };

/** Entries a scan walks at most; past it the workspace is not shown (it could not be checked for secrets). */
const MAX_SCANNED_ENTRIES = 1_000_000;

/** Covers one view may carry at most (each is a mount); past it the workspace is not shown. */
const MAX_SECRET_COVERS = 4096;

/** What a scan kept of one folder, trusted again while its inode and ctime are unchanged (`remembered-listings.ts`). */
type FolderListing = StoredListing;

/**
 * The secret files of one workspace under one list of `sandbox.secretPaths`, in every folder (`.org/` and `.git` left
 * out), found by a walk that never follows a link. A folder whose inode and ctime have not changed since the last
 * scan is not read again (any entry made, removed or renamed in it changes its ctime); a walk that read no folder is
 * kept whole, and while no folder it reached has changed the next scan takes what it found after an lstat of each
 * (no listing looked up, nothing gathered again). Listings and walk are kept in the workspace's `.org/` for the next
 * process (`remembered-listings.ts`), so a process's first scan costs that too. A secret-named link is followed, inside
 * the workspace only, to the file it shows, which is then covered too (`.env -> config/prod.env` must not show
 * `config/prod.env` under another name), on every scan: what a link shows changes with no folder of its own changing.
 */
export class SecretFileScan {
  readonly #listings = new Map<string, FolderListing>();
  readonly #isSecret: (path: string) => string | undefined;
  /** The uid sandboxes run as on the host when it is not org's own (org runs as root), else undefined. */
  readonly #sandboxUid: number | undefined;
  /** The key of the listings kept in `.org/`, once the first scan loaded them. */
  #rememberedKey: string | undefined;
  /** The listings kept in `.org/`, until a walk needs them. */
  #storedListings: (() => Map<string, FolderListing>) | undefined;
  /** The last walk that stood on kept listings alone, checked stamp by stamp before the next scan trusts it. */
  #walk: RememberedWalk | undefined;

  constructor(
    readonly root: string,
    readonly secretPaths: readonly string[],
  ) {
    this.#isSecret = secretPathMatcher(secretPaths);
    this.#sandboxUid = process.getuid?.() === 0 ? SANDBOX_HOST_UID : undefined;
  }

  /** Throws TreeTooLargeError past MAX_SCANNED_ENTRIES entries or MAX_SECRET_COVERS covers. */
  scan(): SecretEntries {
    const key = this.#loadRemembered();
    if (this.#walk !== undefined && this.#unchanged(this.#walk)) return this.#finish(this.#walk, { foldersRead: 0, keptWalk: true });
    return this.#walkNow(key);
  }

  /**
   * The kept walk's findings before its folders are checked, with the check (`unchanged`) for the caller to make
   * before anything may rely on them, and to scan again when it fails; without a kept walk, a scan (`scan`), whose
   * check always holds. A sandbox's launcher starts meanwhile and holds its command until the check has held.
   */
  scanAhead(): { entries: SecretEntries; unchanged: () => boolean } {
    const key = this.#loadRemembered();
    const walk = this.#walk;
    if (walk === undefined) return { entries: this.#walkNow(key), unchanged: () => true };
    return { entries: this.#finish(walk, { foldersRead: 0, keptWalk: true }), unchanged: () => this.#unchanged(walk) };
  }

  /** The key of the listings kept in `.org/`, loading them at the first scan. */
  #loadRemembered(): string {
    if (this.#rememberedKey !== undefined) return this.#rememberedKey;
    const key = listingsKey(this.root, this.secretPaths, this.#sandboxUid);
    const remembered = loadRemembered(this.root, key);
    this.#rememberedKey = key;
    this.#walk = remembered.walk;
    this.#storedListings = remembered.listings;
    return key;
  }

  /** A walk of every folder, each read again unless its kept listing still stands. */
  #walkNow(rememberedKey: string): SecretEntries {
    if (this.#storedListings !== undefined) {
      for (const [folder, listing] of this.#storedListings()) if (!this.#listings.has(folder)) this.#listings.set(folder, listing);
      this.#storedListings = undefined;
    }
    const walk: RememberedWalk = { folders: [], stamps: [], found: { files: [], folders: [], links: [], gitConfigs: [] }, closed: [] };
    const { found } = walk;
    const read = { foldersRead: 0, allKept: true };
    // Each folder the sandbox may not enter, and for every folder walked the first such folder on its way (if any).
    const closedOnTheWay = new Map<string, string | undefined>();
    let entries = 0;
    const pending = [""];
    for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
      const listing = this.#list(folder, read);
      if (listing === undefined) continue;
      walk.folders.push(folder);
      walk.stamps.push(...walkStamp(listing));
      entries += listing.entries;
      if (entries > MAX_SCANNED_ENTRIES)
        throw new TreeTooLargeError(`the workspace holds more than ${MAX_SCANNED_ENTRIES} entries, more than org checks for secret files`);
      const inside = (name: string) => (folder === "" ? name : `${folder}/${name}`);
      if (listing.closed && folder !== "") walk.closed.push(folder);
      const closed = closedOnTheWay.get(parentOf(folder)) ?? (listing.closed && folder !== "" ? folder : undefined);
      closedOnTheWay.set(folder, closed);
      if (closed !== undefined && listing.secretFiles.length + listing.secretFolders.length + listing.gitConfigNames.length > 0)
        found.folders.push(closed);
      else {
        found.files.push(...listing.secretFiles.map(inside));
        found.folders.push(...listing.secretFolders.map(inside));
        found.gitConfigs.push(...listing.gitConfigNames.map(inside));
      }
      found.links.push(...listing.secretLinks.map(inside));
      pending.push(...listing.folders.map(inside));
    }
    const seen = new Set(walk.folders);
    for (const key of this.#listings.keys()) if (!seen.has(key)) this.#listings.delete(key);
    // A walk over a listing read in the same clock tick as a change it missed is not kept: that listing is not either.
    this.#walk = read.allKept ? walk : undefined;
    saveRemembered(this.root, rememberedKey, this.#listings, this.#walk);
    return this.#finish(walk, { foldersRead: read.foldersRead, keptWalk: false });
  }

  /**
   * Whether every folder `walk` reached is still a folder with the stamp it had (`walkStamp`). A folder that cannot be
   * looked at now (a folder above it made a file, a link or closed meanwhile: ENOTDIR, ELOOP, EACCES) has changed too.
   */
  #unchanged(walk: RememberedWalk): boolean {
    const { folders, stamps } = walk;
    for (let index = 0; index < folders.length; index += 1) {
      const folder = folders[index];
      let stat: ReturnType<typeof lstatSync>;
      try {
        stat = lstatSync(folder === "" ? this.root : `${this.root}/${folder}`, { throwIfNoEntry: false });
      } catch {
        return false;
      }
      const at = index * 3;
      if (stat === undefined || !stat.isDirectory() || stat.dev !== stamps[at] || stat.ino !== stamps[at + 1] || stat.ctimeMs !== stamps[at + 2])
        return false;
    }
    return true;
  }

  /** What a walk found, with what its secret-named links show covered too. */
  #finish(walk: RememberedWalk, how: Pick<SecretEntries, "foldersRead" | "keptWalk">): SecretEntries {
    const found: SecretEntries = { files: [...walk.found.files], folders: [...walk.found.folders], ...how, gitConfigs: [] };
    if (walk.found.links.length > 0) {
      const closedAbove = closedAboveIn(walk);
      for (const link of walk.found.links) this.#cover(link, found, closedAbove);
    }
    found.files = [...new Set(found.files)];
    found.folders = [...new Set(found.folders)];
    found.gitConfigs = gitConfigsAmong(this.root, walk.found.gitConfigs);
    if (found.files.length + found.folders.length + found.gitConfigs.length > MAX_SECRET_COVERS) {
      throw new TreeTooLargeError(
        `the workspace holds more than ${MAX_SECRET_COVERS} secret files (sandbox.secretPaths), more than one view can cover`,
      );
    }
    return found;
  }

  /** One folder's listing: the last scan's while the folder is unchanged, else read now; undefined when it is gone or no folder. */
  #list(folder: string, read: { foldersRead: number; allKept: boolean }): FolderListing | undefined {
    const absolute = join(this.root, folder);
    let stat: BigIntStats;
    try {
      stat = lstatSync(absolute, { bigint: true });
    } catch (error) {
      // Past PATH_MAX the folder cannot be checked by its path, yet a command inside reaches it folder by folder.
      if (errorCode(error) === "ENAMETOOLONG")
        throw new TreeTooLargeError("the workspace holds folders nested deeper than the system lets org check for secret files");
      return undefined;
    }
    if (!stat.isDirectory()) return undefined;
    const known = this.#listings.get(folder);
    if (known && known.dev === stat.dev && known.ino === stat.ino && known.ctimeNs === stat.ctimeNs) return known;
    const readAtMs = Date.now();
    read.foldersRead += 1;
    const listing: FolderListing = {
      dev: stat.dev,
      ino: stat.ino,
      ctimeNs: stat.ctimeNs,
      entries: 0,
      closed: this.#sandboxUid !== undefined && !maySearch(stat, this.#sandboxUid),
      folders: [],
      secretFiles: [],
      secretFolders: [],
      secretLinks: [],
      gitConfigNames: [],
    };
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      if (folder === "" && EXCLUDED_TOP.some((name) => name === entry.name)) continue;
      listing.entries += 1;
      const secret = this.#isSecret(folder === "" ? entry.name : `${folder}/${entry.name}`) !== undefined;
      if (entry.isDirectory()) (secret ? listing.secretFolders : listing.folders).push(entry.name);
      else if (secret) (entry.isSymbolicLink() ? listing.secretLinks : listing.secretFiles).push(entry.name);
      else if ((entry.isFile() || entry.isSymbolicLink()) && gitConfigName(folder === "" ? entry.name : `${folder}/${entry.name}`))
        listing.gitConfigNames.push(entry.name);
    }
    // A listing read in the same clock tick as a change it missed would keep that change's ctime: kept only once settled.
    if (listingSettled(stat.ctimeNs, readAtMs)) this.#listings.set(folder, listing);
    else {
      this.#listings.delete(folder);
      read.allKept = false;
    }
    return listing;
  }

  /**
   * What a secret-named link shows, when it lies inside the workspace and is not covered already, is covered too (or
   * the first folder on its way the sandbox may not enter, which `closedAbove` gives).
   */
  #cover(link: string, found: Pick<SecretEntries, "files" | "folders">, closedAbove: (path: string) => string | undefined): void {
    let target: string;
    try {
      target = realpathSync(join(this.root, link));
    } catch {
      return;
    }
    const path = relative(realpathSync(this.root), target);
    if (path === "" || path === ".." || path.startsWith(`..${sep}`) || path.split(sep)[0] === EXCLUDED_TOP[0] || this.#isSecret(path) !== undefined)
      return;
    const shown = path.split(sep).join("/");
    const closed = closedAbove(shown);
    if (closed !== undefined) found.folders.push(closed);
    else (statSync(target).isDirectory() ? found.folders : found.files).push(shown);
  }
}

/**
 * The first folder on a workspace-relative path's way (below the top) that the sandbox's uid may not enter when org
 * runs as root, or undefined: a cover below it could not be placed, and covering it hides nothing that uid could read.
 */
export function closedFolderOnTheWay(root: string, path: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const parts = path.split("/").slice(0, -1);
  for (let index = 1; index <= parts.length; index += 1) {
    const folder = parts.slice(0, index).join("/");
    try {
      if (!maySearch(lstatSync(join(root, folder), { bigint: true }), SANDBOX_HOST_UID)) return folder;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * For a path, the first folder on its way (below the top) that the sandbox's uid may not enter, as `walk` found them;
 * undefined when there is none or the path's folder is not one the walk reached.
 */
function closedAboveIn(walk: RememberedWalk): (path: string) => string | undefined {
  if (walk.closed.length === 0) return () => undefined;
  const reached = new Set(walk.folders);
  const closed = new Set(walk.closed);
  return (path) => {
    const parent = parentOf(path);
    if (!reached.has(parent)) return undefined;
    const parts = parent.split("/");
    for (let index = 1; index <= parts.length; index += 1) {
      const folder = parts.slice(0, index).join("/");
      if (closed.has(folder)) return folder;
    }
    return undefined;
  };
}

/** The folder a workspace-relative path sits in ("" at the top). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/**
 * Whether `uid` (with no supplementary group, as the sandbox drops them) may pass through a folder, by its mode as the
 * kernel reads it: the owner's bits for its owner, else the group's for its group, else the others'. An ACL could
 * grant more, so a folder this calls closed is covered whole, never left uncovered.
 */
function maySearch(stat: BigIntStats, uid: number): boolean {
  const mode = Number(stat.mode);
  if (Number(stat.uid) === uid) return (mode & 0o100) !== 0;
  if (Number(stat.gid) === uid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}
