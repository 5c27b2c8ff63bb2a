import { isAbsolute } from "node:path";
import type { ChangeSet } from "./change-set.ts";
import { entryStateBelow, snapshotTree, TreeTooLargeError } from "./tree-snapshot.ts";

/** What one workspace-relative path of a tree is, for following links: a link with its target, something else, or nothing. */
export type TreeLookup = (path: string) => { link: string } | "other" | undefined;

/** Links followed at most on one path, as the kernel's own bound (40) does; more is a loop or a maze. */
export const MAX_LINK_HOPS = 40;

/** Entries of the workspace walked at most to find its links, when a change touches one. */
const MAX_WALKED_ENTRIES = 1_000_000;

/**
 * Where the link at `linkPath` leads when every link on the way is followed, as the kernel follows them (`..` after a
 * link goes up from where the link points, not from its name): "outside" when it climbs above the root or reaches
 * an absolute path, "loop" past MAX_LINK_HOPS links, else "inside" (a missing part is taken as written).
 */
export function followLink(lookup: TreeLookup, linkPath: string, target: string): "inside" | "outside" | "loop" {
  if (isAbsolute(target)) return "outside";
  const folder = linkPath.split("/").slice(0, -1);
  const pending = target.split("/").reverse();
  let hops = 0;
  for (let part = pending.pop(); part !== undefined; part = pending.pop()) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (folder.length === 0) return "outside";
      folder.pop();
      continue;
    }
    const state = lookup([...folder, part].join("/"));
    if (state === undefined || state === "other") {
      folder.push(part);
      continue;
    }
    hops += 1;
    if (hops > MAX_LINK_HOPS) return "loop";
    if (isAbsolute(state.link)) return "outside";
    // The link's own target goes first, from the folder that holds the link.
    pending.push(...state.link.split("/").reverse());
  }
  return "inside";
}

/** The tree on disk under `root`, read without following a link (a link is reported, never entered). */
function treeOnDisk(root: string): TreeLookup {
  return (path) => {
    const state = entryStateBelow(root, path);
    if (state === undefined) return undefined;
    return state.type === "symlink" ? { link: state.target } : "other";
  };
}

/** The tree on disk under `root` (when given) as it will be once `changeSet` is applied: the change's own paths first. */
export function treeAfterChange(root: string | undefined, changeSet: ChangeSet): TreeLookup {
  const changed = new Map(changeSet.changes.map((change) => [change.path, change.after]));
  const onDisk = root === undefined ? () => undefined : treeOnDisk(root);
  return (path) => {
    if (!changed.has(path)) return onDisk(path);
    const after = changed.get(path);
    if (after === undefined) return undefined;
    return after.type === "symlink" ? { link: after.target } : "other";
  };
}

/** Why one link is refused, keyed by its path: the change's own links, and the workspace's links this change would redirect. */
export type LinkRefusal = { path: string; reason: string };

/**
 * The links of a change that lead outside the workspace through other links (its own included), and, when the change
 * makes, changes or removes a link, every link already in the workspace (`root`) that led inside and would then lead
 * outside. Links that leave as written (absolute, or `..` past the root) are the caller's lexical check.
 */
export function linksLeaving(changeSet: ChangeSet, root: string | undefined, describe: (target: string) => string): LinkRefusal[] {
  const after = treeAfterChange(root, changeSet);
  const refusals: LinkRefusal[] = [];
  for (const change of changeSet.changes) {
    if (change.after?.type !== "symlink") continue;
    const where = followLink(after, change.path, change.after.target);
    if (where === "outside")
      refusals.push({
        path: change.path,
        reason: `${describe(change.after.target)}, which leads outside the workspace through the links on its way`,
      });
    if (where === "loop")
      refusals.push({
        path: change.path,
        reason: `${describe(change.after.target)}, which passes more than ${MAX_LINK_HOPS} links (a loop); point it at a file or folder`,
      });
  }
  const touchesLinks = changeSet.changes.some((change) => change.before?.type === "symlink" || change.after?.type === "symlink");
  if (root === undefined || !touchesLinks) return refusals;
  let links: { path: string; target: string }[];
  try {
    links = [...snapshotTree(root, { maxEntries: MAX_WALKED_ENTRIES })].flatMap(([path, state]) =>
      state.type === "symlink" ? [{ path, target: state.target }] : [],
    );
  } catch (error) {
    if (!(error instanceof TreeTooLargeError)) throw error;
    return [
      ...refusals,
      {
        path: changeSet.changes[0]?.path ?? "",
        reason: `a change to links in a workspace of more than ${MAX_WALKED_ENTRIES} entries, whose links org cannot all check`,
      },
    ];
  }
  const before = treeOnDisk(root);
  const changed = new Set(changeSet.changes.map((change) => change.path));
  for (const { path, target } of links) {
    if (changed.has(path) || followLink(after, path, target) !== "outside" || followLink(before, path, target) === "outside") continue;
    refusals.push({ path, reason: `${describe(target)} already in the workspace, which this change's links would make lead outside it` });
  }
  return refusals;
}
