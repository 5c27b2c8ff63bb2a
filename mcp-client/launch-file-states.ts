import { type BigIntStats, closeSync, constants, type Dirent, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { LaunchPlan } from "./launch-plan.ts";
import { coveredFiles, MAX_WALKED_ENTRIES } from "./workspace-code.ts";

/**
 * A path's state as a confirmation keeps it: a digest of what is there (absent, a folder, a link and its target, a file's
 * bytes and executable bit), and for a file the stat that changes whenever its bytes or mode do (the change time is set
 * by the kernel), so a later look hashes only what changed.
 */
export type PathState = { digest: string; stat?: string };

/** Entries looked at under each folder of a plan; past that the folder's state says it was cut. */
const MAX_TREE_ENTRIES = 5000;
/** Links followed from one path. */
const MAX_LINKS = 40;
const O_CLOEXEC = 0o2000000;

const digestOf = (what: string) => new Bun.CryptoHasher("sha256").update(what).digest("hex");
/** The state of a path where there is nothing. */
export const ABSENT = digestOf("absent");
const FOLDER = digestOf("folder");

/**
 * The state of every path of a launch plan now: each file, followed through its links (each link and where it points
 * recorded), each folder of `trees` with every entry under it (bounded), each module of `moduleFolders`, each fact. `known` gives a path's earlier
 * state: a file whose stat is unchanged keeps its digest unread.
 */
export function launchStates(plan: LaunchPlan, known: (label: string) => PathState | undefined = () => undefined): Map<string, PathState> {
  const states = new Map<string, PathState>();
  const visit = (path: string, links = 0): BigIntStats | undefined => {
    if (states.has(path)) return undefined;
    let stat: BigIntStats;
    try {
      stat = lstatSync(path, { bigint: true });
    } catch {
      states.set(path, { digest: ABSENT });
      return undefined;
    }
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(path);
      states.set(path, { digest: digestOf(`link ${target}`) });
      if (links < MAX_LINKS) visit(resolve(dirname(path), target), links + 1);
    } else if (stat.isDirectory()) states.set(path, { digest: FOLDER });
    else if (!stat.isFile()) states.set(path, { digest: digestOf("special") });
    else states.set(path, fileState(path, stat, known(path)));
    return stat;
  };
  for (const file of plan.files) visit(file);
  for (const tree of plan.trees) {
    let budget = MAX_TREE_ENTRIES;
    const pending = [tree];
    for (let folder = pending.shift(); folder !== undefined; folder = pending.shift()) {
      if (!visit(folder)?.isDirectory() && folder !== tree) continue;
      for (const entry of entriesOf(folder)) {
        if (budget-- <= 0) {
          states.set(folder, { digest: digestOf("folder cut at the bound") });
          break;
        }
        const path = join(folder, entry.name);
        if (entry.isDirectory()) pending.push(path);
        else visit(path);
      }
    }
  }
  for (const folder of plan.moduleFolders) {
    // Each module an interpreter would import from there before its own: a new one is a change like any other.
    visit(folder);
    for (const entry of entriesOf(folder).slice(0, MAX_TREE_ENTRIES)) {
      const path = join(folder, entry.name);
      if (!entry.isDirectory()) {
        if (PYTHON_MODULE.test(entry.name)) visit(path);
        continue;
      }
      try {
        if (lstatSync(join(path, "__init__.py"), { throwIfNoEntry: false })) visit(join(path, "__init__.py"));
      } catch {
        // A folder this user may not enter holds no package Python could import either.
      }
    }
  }
  for (const [label, value] of Object.entries(plan.facts)) states.set(label, { digest: digestOf(`fact ${value}`) });
  if (plan.code) {
    // Every file the server can load from the workspace, but the data its launch hands it outside the folders it runs
    // from (a database it writes would make every start a change); the write view still refuses that to the agents.
    const { files, cut } = coveredFiles(plan.code);
    const roots = plan.code.roots.map((root) => `${root}/`);
    const data = new Set(plan.data.filter((path) => !roots.some((root) => path.startsWith(root))));
    for (const file of files) if (!data.has(file)) visit(file);
    if (cut) states.set(UNCOVERED, { digest: digestOf("cut") });
  }
  return states;
}

/** The label of a plan's states when the workspace was too large to walk whole: such a server cannot be covered. */
export const UNCOVERED = "(the workspace, too large to walk)";

/** Why a server cannot be covered when its states hold UNCOVERED, and what to do. */
export const UNCOVERED_REASON =
  `it starts from the workspace, so it can load every code file of it, and the ` +
  `workspace holds more than ${MAX_WALKED_ENTRIES} entries, too many to hash at each start: give it "sandbox": true`;

/** A module Python imports by its file's name: source, bytecode, an extension. */
const PYTHON_MODULE = /\.(py|pyc|so)$/;

function entriesOf(folder: string): Dirent[] {
  try {
    return readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
}

function fileState(path: string, stat: BigIntStats, was: PathState | undefined): PathState {
  const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  if (was?.stat === key) return was;
  const executable = (Number(stat.mode) & 0o111) !== 0 ? "x" : "-";
  const bytes = contentDigest(path, stat);
  return { digest: digestOf(`file ${executable} ${bytes}`), stat: key };
}

/** The sha256 of a file's bytes, read without following a link or blocking, from the file lstat saw (else "changing"). */
function contentDigest(path: string, stat: BigIntStats): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | O_CLOEXEC);
  } catch {
    return "unreadable";
  }
  try {
    const opened = fstatSync(fd, { bigint: true });
    if (!opened.isFile() || opened.ino !== stat.ino || opened.dev !== stat.dev) return "changing";
    const hash = new Bun.CryptoHasher("sha256");
    // Sized to the file (most are small), at most 1 MiB a read: a zeroed MiB for each of thousands of files cost seconds.
    const buffer = Buffer.allocUnsafe(Math.min(Math.max(Number(stat.size), 1), 1 << 20));
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
    return hash.digest("hex");
  } catch {
    return "unreadable";
  } finally {
    closeSync(fd);
  }
}

/** What differs between the states a confirmation kept (by `keyOf` of each label) and the states now. */
export function changedStates(
  kept: Readonly<Record<string, PathState>>,
  now: ReadonlyMap<string, PathState>,
  keyOf: (label: string) => string,
): { changed: { label: string; how: "new" | "changed" | "gone" }[]; gone: number } {
  const changed: { label: string; how: "new" | "changed" | "gone" }[] = [];
  const folders: typeof changed = [];
  const seen = new Set<string>();
  for (const [label, state] of now) {
    const key = keyOf(label);
    seen.add(key);
    const was = kept[key];
    // Nothing there, and nothing kept of it (a path a newer org looks at too): nothing changed.
    if (was?.digest === state.digest || (was === undefined && state.digest === ABSENT)) continue;
    // Files and links first: a new folder says less than what is in it.
    (state.digest === FOLDER ? folders : changed).push({
      label,
      how: state.digest === ABSENT ? "gone" : was === undefined || was.digest === ABSENT ? "new" : "changed",
    });
  }
  changed.push(...folders);
  // A path kept that is no longer in the plan (a link now elsewhere, an entry gone from a folder): named by count only,
  // as the confirmation keeps digests, not names.
  const gone = Object.keys(kept).filter((key) => !seen.has(key) && kept[key]?.digest !== ABSENT).length;
  return { changed, gone };
}
