import { createHash } from "node:crypto";
import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { readPrivateFile, writePrivateFile } from "../security/private-state.ts";

// A scan of a workspace's secret files reads every folder once per process, and `org sandbox run` is a process per
// call: in a clone with its node_modules that walk was most of the call. So a scan's listings are kept in the
// workspace's `.org/` for the next process, each trusted as the scan trusts its own (while the folder's device, inode
// and ctime are unchanged, which any entry made, removed or renamed in it changes), and the whole file only under the
// key it was written with: the workspace, the secret paths, whether org runs as root, and the code that sorts names
// into secret or not (a newer rule must never stand on an older one's verdicts).

/** The file under the workspace's `.org/` that holds the last scan's listings. */
export const REMEMBERED_LISTINGS_FILE = "secret-scan.json";

/** What a scan kept of one folder (`secret-files.ts`), with names only; the stamps as decimal strings in the file. */
export type StoredListing = {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
  entries: number;
  closed: boolean;
  folders: string[];
  secretFiles: string[];
  secretFolders: string[];
  secretLinks: string[];
  gitConfigNames: string[];
};

/** The modules whose rules decide what a listing holds, relative to this folder. */
const RULES = ["secret-files.ts", "check-change-set.ts", "path-glob.ts", "git-config-covers.ts", "tree-snapshot.ts", "../config/workspace-paths.ts"];

/** The key a file of listings is kept under: the scan's inputs and the code of its rules. */
export function listingsKey(root: string, secretPaths: readonly string[], sandboxUid: number | undefined): string {
  const hash = createHash("sha256").update(JSON.stringify({ version: 1, root, secretPaths, sandboxUid }));
  for (const rule of RULES) hash.update(readFileSync(join(import.meta.dir, rule)));
  return hash.digest("hex");
}

/** The listings kept for `root` under `key`; none when there is no `.org/` there, no file, another key or a file out of shape. */
export function loadListings(root: string, key: string): Map<string, StoredListing> {
  const listings = new Map<string, StoredListing>();
  let stored: unknown;
  try {
    if (!lstatSync(join(root, ORG_DIR)).isDirectory()) return listings;
    stored = JSON.parse(readPrivateFile(join(root, ORG_DIR, REMEMBERED_LISTINGS_FILE)));
  } catch {
    return listings;
  }
  if (!isRecord(stored) || stored.key !== key || !Array.isArray(stored.listings)) return listings;
  for (const row of stored.listings) {
    const listing = listingOf(row);
    if (listing === undefined) return new Map();
    listings.set(listing[0], listing[1]);
  }
  return listings;
}

/** Keeps `listings` for the next process, when the workspace has a `.org/`; a cache that cannot be written is left as it was. */
export function saveListings(root: string, key: string, listings: ReadonlyMap<string, StoredListing>): void {
  const rows = [...listings].map(([folder, listing]) => [
    folder,
    String(listing.dev),
    String(listing.ino),
    String(listing.ctimeNs),
    listing.entries,
    listing.closed,
    listing.folders,
    listing.secretFiles,
    listing.secretFolders,
    listing.secretLinks,
    listing.gitConfigNames,
  ]);
  try {
    if (!lstatSync(join(root, ORG_DIR)).isDirectory()) return;
    writePrivateFile(join(root, ORG_DIR, REMEMBERED_LISTINGS_FILE), JSON.stringify({ key, listings: rows }));
  } catch {
    // Only a cache: the next scan reads the folders again.
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const DECIMAL = /^\d{1,40}$/;

/** A stored row as a listing, or undefined when any part of it is not what `saveListings` writes. */
function listingOf(row: unknown): [string, StoredListing] | undefined {
  if (!Array.isArray(row) || row.length !== 11) return undefined;
  const [folder, dev, ino, ctimeNs, entries, closed, folders, secretFiles, secretFolders, secretLinks, gitConfigNames]: unknown[] = row;
  if (typeof folder !== "string" || !isFolderPath(folder) || !isStamp(dev) || !isStamp(ino) || !isStamp(ctimeNs)) return undefined;
  if (typeof entries !== "number" || !Number.isSafeInteger(entries) || entries < 0 || typeof closed !== "boolean") return undefined;
  if (!isNames(folders) || !isNames(secretFiles) || !isNames(secretFolders) || !isNames(secretLinks) || !isNames(gitConfigNames)) return undefined;
  const stamps = { dev: BigInt(dev), ino: BigInt(ino), ctimeNs: BigInt(ctimeNs) };
  return [folder, { ...stamps, entries, closed, folders, secretFiles, secretFolders, secretLinks, gitConfigNames }];
}

const isStamp = (value: unknown): value is string => typeof value === "string" && DECIMAL.test(value);
const isNames = (value: unknown): value is string[] => Array.isArray(value) && value.every(isEntryName);

/** A name as a folder listing gives it: no slash, not empty, not `.` or `..`. */
function isEntryName(name: unknown): name is string {
  return typeof name === "string" && name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/** A workspace-relative folder as a scan names it: "" for the top, else names joined by slashes. */
function isFolderPath(path: string): boolean {
  return path === "" || path.split("/").every(isEntryName);
}
