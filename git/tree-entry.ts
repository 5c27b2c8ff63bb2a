import { GitCommandError } from "./git-command-error.ts";
import { isObjectId } from "./ref-names.ts";

/** One entry of a tree as `git ls-tree` lists it: a file (`blob`), a folder (`tree`) or a submodule (`commit`). */
export type TreeEntry = {
  /** `100644`, `100755`, `120000` (a link), `040000`, `160000`. */
  mode: string;
  type: "blob" | "tree" | "commit";
  id: string;
  /** From the root of the tree listed (`tools/generated/x/tool.ts`), or the entry's name when a tree is listed alone. */
  path: string;
  /** A blob's size in bytes, when sizes were asked for. */
  size?: number;
};

const isEntryType = (type: string): type is TreeEntry["type"] => type === "blob" || type === "tree" || type === "commit";

/** The entries of `git ls-tree -z [-l]` output (each `mode type id [size]\tpath\0`); throws on anything else. */
export function parseTreeEntries(out: string): TreeEntry[] {
  return out
    .split("\0")
    .filter(Boolean)
    .map((record) => {
      const tab = record.indexOf("\t");
      const [mode = "", type = "", id = "", size] = record.slice(0, Math.max(tab, 0)).split(/ +/);
      if (tab < 0 || !isEntryType(type) || !isObjectId(id))
        throw new GitCommandError(`git ls-tree failed: unexpected line ${JSON.stringify(record.slice(0, 120))}`);
      const entry: TreeEntry = { mode, type, id, path: record.slice(tab + 1) };
      if (size !== undefined && /^\d+$/.test(size)) entry.size = Number(size);
      return entry;
    });
}
