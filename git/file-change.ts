/** One file a diff between two commits changes, as `git diff --raw` shows it (ids full, no renames). */
export type FileChange = {
  oldMode: string;
  newMode: string;
  oldId: string;
  newId: string;
  /** `A` added, `M` modified, `D` deleted, `T` type changed. */
  status: string;
  path: string;
};

/** The changes of `git diff --raw -z --no-abbrev --no-renames`: `:old new oldId newId status\0path\0` each. */
export function parseRawDiff(out: string): FileChange[] {
  const fields = out.split("\0");
  const changes: FileChange[] = [];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const meta = fields[index] ?? "";
    if (!meta.startsWith(":")) break;
    const [oldMode = "", newMode = "", oldId = "", newId = "", status = ""] = meta.slice(1).split(" ");
    changes.push({ oldMode, newMode, oldId, newId, status: status.charAt(0), path: fields[index + 1] ?? "" });
  }
  return changes;
}
