import { canonicalJson } from "../config/canonical-json.ts";
import { sha256Hex } from "../generated-tools/tool-metadata.ts";
import type { TraceReading } from "./folder-trace.ts";

/**
 * What one test file's traced run could have read of the judged tree, as keys a later tree is compared by: `path`
 * (a file's mode and object id, a folder, or nothing there), `path/` (a folder's names: it was listed) and
 * `path/**` (everything under it: it was handed on whole). The top folder's are `/` and `/**`.
 */
export type Dependency = string;

const listing = (path: string): Dependency => `${path}/`;
const subtree = (path: string): Dependency => `${path}/**`;

// Every test depends on the packages it runs with, which npm installs from the lock file.
const ALWAYS = ["package-lock.json"];

/**
 * The keys a traced run depends on (`readTrace`'s paths), but `excluded` (paths no test's reads can turn on, such as
 * the shipped trace itself): an unplaced path makes the whole tree one.
 */
export function traceDependencies(reading: TraceReading, excluded: ReadonlySet<string> = new Set()): Dependency[] {
  if (reading.unplaced) return [subtree("")];
  const keys = new Set<Dependency>(ALWAYS);
  for (const path of reading.touched) if (path !== "" && !excluded.has(path)) keys.add(path);
  for (const path of reading.listed) keys.add(listing(path));
  for (const path of reading.handed) keys.add(subtree(path));
  return [...keys].sort();
}

/**
 * A tree's files (path → "mode object-id", as `filesOutsideTools` gives them) seen as a traced test saw its worktree:
 * each key's state, for comparing a tree with the one a trace ran in. Folders are those the files lie in.
 */
export class TreeStates {
  private readonly folders = new Map<string, Set<string>>([["", new Set()]]);
  private readonly states = new Map<Dependency, string>();

  constructor(
    private readonly files: ReadonlyMap<string, string>,
    private readonly excluded: ReadonlySet<string> = new Set(),
  ) {
    for (const path of files.keys()) {
      if (excluded.has(path)) continue;
      const parts = path.split("/");
      for (let depth = 0; depth < parts.length; depth += 1) {
        const folder = parts.slice(0, depth).join("/");
        const names = this.folders.get(folder) ?? new Set<string>();
        names.add(parts[depth] ?? "");
        this.folders.set(folder, names);
      }
    }
  }

  /** The state of `key` in this tree: what a run that read it there would find. */
  state(key: Dependency): string {
    const known = this.states.get(key);
    if (known !== undefined) return known;
    const state = this.compute(key);
    this.states.set(key, state);
    return state;
  }

  /** One digest of the states of `keys`, for a record to compare a later tree by. */
  digest(keys: readonly Dependency[]): string {
    return sha256Hex(canonicalJson([...keys].sort().map((key) => [key, this.state(key)])));
  }

  private compute(key: Dependency): string {
    if (key.endsWith("/**")) {
      const under = key.slice(0, -3);
      const prefix = under === "" ? "" : `${under}/`;
      const entries = [...this.files]
        .filter(([path]) => !this.excluded.has(path) && (path === under || path.startsWith(prefix)))
        .sort(([a], [b]) => (a < b ? -1 : 1));
      return entries.length === 0 ? "none" : `all ${sha256Hex(canonicalJson(entries)).slice(0, 40)}`;
    }
    if (key.endsWith("/")) {
      const names = this.folders.get(key.slice(0, -1));
      if (names) return `names ${sha256Hex([...names].sort().join("\n")).slice(0, 40)}`;
      return this.files.has(key.slice(0, -1)) ? "file" : "none";
    }
    if (this.excluded.has(key)) return "none";
    return this.files.get(key) ?? (this.folders.has(key) ? "folder" : "none");
  }
}
