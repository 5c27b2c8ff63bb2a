import { type BigIntStats, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { listingSettled } from "../sandbox/measure-tree.ts";
import { secretPathMatcher } from "./check-change-set.ts";
import { EXCLUDED_TOP, TreeTooLargeError } from "./tree-snapshot.ts";

/** A workspace's secret files and folders (workspace-relative), each covered in the read view, and how many folders the scan read. */
export type SecretEntries = { files: string[]; folders: string[]; foldersRead: number };

/** Entries a scan walks at most; past it the workspace is not shown (it could not be checked for secrets). */
export const MAX_SCANNED_ENTRIES = 1_000_000;

/** Covers one view may carry at most (each is a mount); past it the workspace is not shown. */
export const MAX_SECRET_COVERS = 4096;

/** What a scan kept of one folder, trusted again while its inode and ctime are unchanged. */
type FolderListing = {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
  entries: number;
  /** Sub-folders to walk (not secret themselves). */
  folders: string[];
  /** Secret entries here, by what they are: a link among them is resolved at each scan, never trusted from the last. */
  secretFiles: string[];
  secretFolders: string[];
  secretLinks: string[];
};

/**
 * The secret files of one workspace under one list of `sandbox.secretPaths`, in every folder (`.org/` and `.git` left
 * out), found by a walk that never follows a link. A folder whose inode and ctime have not changed since the last
 * scan is not read again (any entry made, removed or renamed in it changes its ctime), so a repeated scan costs an
 * lstat per folder. A secret-named link is followed, inside the workspace only, to the file it shows, which is then
 * covered too (`.env -> config/prod.env` must not show `config/prod.env` under another name).
 */
export class SecretFileScan {
  readonly #listings = new Map<string, FolderListing>();
  readonly #isSecret: (path: string) => string | undefined;

  constructor(
    readonly root: string,
    readonly secretPaths: readonly string[],
  ) {
    this.#isSecret = secretPathMatcher(secretPaths);
  }

  /** Throws TreeTooLargeError past MAX_SCANNED_ENTRIES entries or MAX_SECRET_COVERS covers. */
  scan(): SecretEntries {
    const found: SecretEntries = { files: [], folders: [], foldersRead: 0 };
    const links: string[] = [];
    const seen = new Set<string>();
    let entries = 0;
    const pending = [""];
    for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
      const listing = this.#list(folder, found);
      if (listing === undefined) continue;
      seen.add(folder);
      entries += listing.entries;
      if (entries > MAX_SCANNED_ENTRIES)
        throw new TreeTooLargeError(`the workspace holds more than ${MAX_SCANNED_ENTRIES} entries, more than org checks for secret files`);
      const inside = (name: string) => (folder === "" ? name : `${folder}/${name}`);
      found.files.push(...listing.secretFiles.map(inside));
      found.folders.push(...listing.secretFolders.map(inside));
      links.push(...listing.secretLinks.map(inside));
      pending.push(...listing.folders.map(inside));
    }
    for (const key of this.#listings.keys()) if (!seen.has(key)) this.#listings.delete(key);
    for (const link of links) this.#cover(link, found);
    found.files = [...new Set(found.files)];
    found.folders = [...new Set(found.folders)];
    if (found.files.length + found.folders.length > MAX_SECRET_COVERS) {
      throw new TreeTooLargeError(`the workspace holds more than ${MAX_SECRET_COVERS} secret files (sandbox.secretPaths), more than one view can cover`);
    }
    return found;
  }

  /** One folder's listing: the last scan's while the folder is unchanged, else read now; undefined when it is gone or no folder. */
  #list(folder: string, found: SecretEntries): FolderListing | undefined {
    const absolute = join(this.root, folder);
    let stat: BigIntStats;
    try {
      stat = lstatSync(absolute, { bigint: true });
    } catch {
      return undefined;
    }
    if (!stat.isDirectory()) return undefined;
    const known = this.#listings.get(folder);
    if (known && known.dev === stat.dev && known.ino === stat.ino && known.ctimeNs === stat.ctimeNs) return known;
    const readAtMs = Date.now();
    found.foldersRead += 1;
    const listing: FolderListing = {
      dev: stat.dev,
      ino: stat.ino,
      ctimeNs: stat.ctimeNs,
      entries: 0,
      folders: [],
      secretFiles: [],
      secretFolders: [],
      secretLinks: [],
    };
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      if (folder === "" && EXCLUDED_TOP.some((name) => name === entry.name)) continue;
      listing.entries += 1;
      const secret = this.#isSecret(folder === "" ? entry.name : `${folder}/${entry.name}`) !== undefined;
      if (entry.isDirectory()) (secret ? listing.secretFolders : listing.folders).push(entry.name);
      else if (secret) (entry.isSymbolicLink() ? listing.secretLinks : listing.secretFiles).push(entry.name);
    }
    // A listing read in the same clock tick as a change it missed would keep that change's ctime: kept only once settled.
    if (listingSettled(stat.ctimeNs, readAtMs)) this.#listings.set(folder, listing);
    else this.#listings.delete(folder);
    return listing;
  }

  /** What a secret-named link shows, when it lies inside the workspace and is not covered already, is covered too. */
  #cover(link: string, found: Pick<SecretEntries, "files" | "folders">): void {
    let target: string;
    try {
      target = realpathSync(join(this.root, link));
    } catch {
      return;
    }
    const path = relative(realpathSync(this.root), target);
    if (path === "" || path === ".." || path.startsWith(`..${sep}`) || path.split(sep)[0] === EXCLUDED_TOP[0] || this.#isSecret(path) !== undefined) return;
    (statSync(target).isDirectory() ? found.folders : found.files).push(path);
  }
}
