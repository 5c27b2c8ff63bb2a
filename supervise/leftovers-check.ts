import { findLeftovers, type Leftover, removeLeftover } from "./leftovers.ts";
import type { Check, Fix, Finding, SuperviseContext } from "./supervise-check.ts";

const KINDS: Record<Leftover["kind"], string> = {
  worktree: "worktrees of dead runs",
  window: "tmux windows of dead instances",
  folder: "folders of dead runs",
  file: "temporary files of dead runs",
};

/** Removes the leftovers of one kind (or `all`) found now; what it removed. */
export async function removeLeftovers(kind: string, context: SuperviseContext): Promise<string[]> {
  const removed: string[] = [];
  for (const leftover of await findLeftovers(context)) {
    if (kind !== "all" && leftover.kind !== kind) continue;
    await removeLeftover(leftover, context);
    removed.push(leftover.path);
  }
  return removed;
}

/** `remove-leftovers`: the worktrees, windows, folders or files of dead runs (`all` of them) removed. */
export const removeLeftoversFix: Fix = {
  target: "worktree, window, folder, file or all: remove what dead runs left",
  refuse: async (target) =>
    target === "all" || target in KINDS
      ? undefined
      : `remove-leftovers takes worktree, window, folder, file or all, not ${JSON.stringify(target.slice(0, 80))}`,
  async apply(target, context) {
    const removed = await removeLeftovers(target, context);
    return { ok: true, detail: removed.length > 0 ? `removed ${removed.join(", ")}` : "nothing was left to remove" };
  },
};

/** Pattern 5: one finding per kind of leftover, naming each one and why it counts as left behind. */
export const leftoversCheck: Check = {
  name: "leftovers",
  fixes: { "remove-leftovers": removeLeftoversFix },
  async run(context) {
    const leftovers = await findLeftovers(context);
    if (leftovers.length === 0) return { state: "ok", detail: "no worktree, window, folder or file of a dead run", findings: [] };
    const findings: Finding[] = [];
    for (const [kind, title] of Object.entries(KINDS)) {
      const some = leftovers.filter((leftover) => leftover.kind === kind);
      if (some.length === 0) continue;
      const detail = some.map((leftover) => `${leftover.path} (${leftover.why})`).join("; ");
      findings.push({
        key: kind,
        title,
        detail,
        fix: { action: "remove-leftovers", target: kind, detail: `remove ${some.length}: ${detail}`.slice(0, 1000) },
      });
    }
    return { state: "warn", detail: findings.map((finding) => finding.title).join("; "), findings };
  },
};
