import { lstatSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, ORG_DIR } from "../config/workspace-paths.ts";
import { readPrivateFile, writePrivateFile } from "../security/private-state.ts";

// A scan of a workspace's secret files reads every folder once per process, and `org sandbox run` is a process per
// call: in a clone with its node_modules that walk was most of the call. So a scan's listings are kept in the
// workspace's `.org/` for the next process, each trusted as the scan trusts its own (while the folder's device, inode
// and ctime are unchanged, which any entry made, removed or renamed in it changes), and the whole file only under the
// key it was written with: the workspace, the secret paths, whether org runs as root, and the code that sorts names
// into secret or not (a newer rule must never stand on an older one's verdicts). Beside them, on the file's first line,
// the last walk whose every listing was kept (`RememberedWalk`): the next process checks its stamps, folder by folder,
// and parses the listings on the second line only when one differs.

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

/**
 * A walk that stood on kept listings alone: the folders it reached in its order (`""` first), each one's stamp
 * (`walkStamp`, three numbers a folder, one after the other) as its listing holds it, and what it found before links
 * were followed. While every folder's stamp is unchanged, every folder holds the entries it held, so the walk would
 * reach the same folders and find the same.
 */
export type RememberedWalk = {
  folders: string[];
  stamps: number[];
  /** Secret files, the folders to cover (secret ones, closed ones with a secret below), secret-named links, git-config-named files. */
  found: { files: string[]; folders: string[]; links: string[]; gitConfigs: string[] };
  /** The folders the sandbox's uid may not enter (org runs as root), each one of `folders`. */
  closed: string[];
};

/**
 * A folder's stamp as a kept walk compares it: its device, inode and ctime as an `lstatSync` without `bigint` gives
 * them (ctime in milliseconds, a double: seconds times 1000 plus nanoseconds over a million, as bun computes it), made
 * from the listing's own stat. The check of a kept walk is an lstat of every folder, and BigInt stats cost it twice
 * the time; the double keeps the ctime to a quarter of a microsecond, and a folder changed since its listing was read
 * has a ctime at least `listingSettled`'s margin later.
 */
export function walkStamp(stat: { dev: bigint; ino: bigint; ctimeNs: bigint }): [dev: number, ino: number, ctimeMs: number] {
  const ctimeMs = Number(stat.ctimeNs / 1_000_000_000n) * 1000 + Number(stat.ctimeNs % 1_000_000_000n) / 1e6;
  return [Number(stat.dev), Number(stat.ino), ctimeMs];
}

/** The modules whose rules decide what a listing holds, relative to this folder. */
const RULES = [
  "secret-files.ts",
  "remembered-listings.ts",
  "check-change-set.ts",
  "path-glob.ts",
  "git-config-covers.ts",
  "tree-snapshot.ts",
  "../config/workspace-paths.ts",
];

/**
 * The key a file of listings is kept under: the scan's inputs and the code of its rules, by each rule file's stamp
 * (device, inode, size, modification and change times: an edit, a file renamed over it or a touch each moves it, and
 * no one can set a change time back) rather than its bytes, which every `sandbox run` read and hashed. A rule file
 * gone makes a key no file is under.
 */
export function listingsKey(root: string, secretPaths: readonly string[], sandboxUid: number | undefined): string {
  const rules = RULES.map((rule) => {
    const stat = lstatSync(join(CHECKOUT_DIR, "workspace", rule), { bigint: true, throwIfNoEntry: false });
    return stat
      ? [rule, String(stat.dev), String(stat.ino), String(stat.size), String(stat.mtimeNs), String(stat.ctimeNs)]
      : [rule, "gone", String(Math.random())];
  });
  return new Bun.CryptoHasher("sha256").update(JSON.stringify({ version: 3, root, secretPaths, sandboxUid, rules })).digest("hex");
}

/**
 * What is kept for `root` under `key`: the last walk that stood on kept listings alone, and the listings, parsed only
 * when asked for; nothing when there is no `.org/` there, no file, another key or a file out of shape.
 */
export function loadRemembered(root: string, key: string): { walk: RememberedWalk | undefined; listings: () => Map<string, StoredListing> } {
  const none = { walk: undefined, listings: () => new Map<string, StoredListing>() };
  let text: string;
  let newline: number;
  let head: unknown;
  try {
    if (!lstatSync(join(root, ORG_DIR)).isDirectory()) return none;
    text = readPrivateFile(join(root, ORG_DIR, REMEMBERED_LISTINGS_FILE));
    newline = text.indexOf("\n");
    head = JSON.parse(newline === -1 ? text : text.slice(0, newline));
  } catch {
    return none;
  }
  if (!isRecord(head) || head.key !== key) return none;
  return { walk: walkOf(head.walk), listings: () => (newline === -1 ? new Map() : listingsOf(text.slice(newline + 1))) };
}

/** Rows of listings as `saveRemembered` writes them, as a map; an empty one when any row is out of shape. */
function listingsOf(text: string): Map<string, StoredListing> {
  const listings = new Map<string, StoredListing>();
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return listings;
  }
  if (!Array.isArray(rows)) return listings;
  for (const row of rows) {
    const listing = listingOf(row);
    if (listing === undefined) return new Map();
    listings.set(listing[0], listing[1]);
  }
  return listings;
}

/**
 * Keeps `listings` and `walk` (when the scan has one) for the next process, when the workspace has a `.org/`: the key
 * and walk on the first line, the listings on the second (JSON writes no newline inside a value). A cache that
 * cannot be written is left as it was.
 */
export function saveRemembered(root: string, key: string, listings: ReadonlyMap<string, StoredListing>, walk: RememberedWalk | undefined): void {
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
    writePrivateFile(join(root, ORG_DIR, REMEMBERED_LISTINGS_FILE), `${JSON.stringify({ key, walk: walk ?? null })}\n${JSON.stringify(rows)}`);
  } catch {
    // Only a cache: the next scan reads the folders again.
  }
}

/** A stored walk, or undefined when it is none or any part of it is not what `saveRemembered` writes. */
function walkOf(value: unknown): RememberedWalk | undefined {
  if (!isRecord(value)) return undefined;
  const { folders, stamps, found, closed } = value;
  // The folders are only lstat'ed, and a walk is taken only where each one's stamp is as kept, which no one but the
  // kernel of this machine writes: checked for their type alone, as the check of every path cost more than the walk.
  if (!isStrings(folders) || folders[0] !== "" || !isNumbers(stamps) || stamps.length !== folders.length * 3) return undefined;
  if (!isPaths(closed) || !isRecord(found)) return undefined;
  const { files, folders: covered, links, gitConfigs } = found;
  if (!isPaths(files) || !isPaths(covered) || !isPaths(links) || !isPaths(gitConfigs)) return undefined;
  return { folders, stamps, found: { files, folders: covered, links, gitConfigs }, closed };
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
const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === "string");
const isNumbers = (value: unknown): value is number[] => Array.isArray(value) && value.every((item) => typeof item === "number");
const isPaths = (value: unknown): value is string[] => Array.isArray(value) && value.every((path) => typeof path === "string" && isFolderPath(path));

/** A name as a folder listing gives it: no slash, not empty, not `.` or `..`. */
function isEntryName(name: unknown): name is string {
  return typeof name === "string" && name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/** A workspace-relative folder as a scan names it: "" for the top, else names joined by slashes. */
function isFolderPath(path: string): boolean {
  return path === "" || path.split("/").every(isEntryName);
}
