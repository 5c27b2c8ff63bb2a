/** A worktree as `git worktree list --porcelain -z` describes it. */
export type Worktree = {
  path: string;
  /** Its HEAD commit (none for a bare repository). */
  head?: string;
  /** The branch checked out there (`refs/heads/…`), when not detached. */
  branch?: string;
  /** Why it is locked (`""` when locked with no reason); absent when it is not. */
  locked?: string;
  /** Why git would prune it (its folder is gone); absent when it would not. */
  prunable?: string;
};

/** The worktrees of `git worktree list --porcelain -z`: attributes end with a NUL, a worktree with an empty one. */
export function parseWorktreeList(out: string): Worktree[] {
  const found: Worktree[] = [];
  let current: Worktree | undefined;
  for (const field of out.split("\0")) {
    if (field === "") {
      if (current) found.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(" ");
    const [label, value] = space < 0 ? [field, ""] : [field.slice(0, space), field.slice(space + 1)];
    if (label === "worktree") current = { path: value };
    else if (current && label === "HEAD") current.head = value;
    else if (current && label === "branch") current.branch = value;
    else if (current && label === "locked") current.locked = value;
    else if (current && label === "prunable") current.prunable = value;
  }
  if (current) found.push(current);
  return found;
}
