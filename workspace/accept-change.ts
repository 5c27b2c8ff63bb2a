import type { ChangeSet } from "./change-set.ts";
import { type ChangeSetCheckOptions, checkChangeSet, DEFAULT_CHANGE_SET_LIMITS, describeRefusals } from "./check-change-set.ts";

/** A change a command made on a private copy, as the write view hands it over (`ProposedChange` of `tools/define-tool.ts`). */
export type CommandChange = { paths: readonly string[]; changeSet(): ChangeSet; refused?: string };

/**
 * Whether a command's change may be kept, the one way the room (before it shows and decides it) and `org patch` (before
 * it keeps it for the patch) tell: refused when the view already refused it; when it touched more files than
 * `limits.patchFiles`, before any of them is read (a hostile command may touch many); and when `checkChangeSet` refuses
 * the change set under `rules`. The message says what was refused and why, for the model and for a person.
 */
export function acceptChange(
  change: CommandChange,
  rules: ChangeSetCheckOptions,
): { ok: true; changeSet: ChangeSet } | { ok: false; message: string } {
  if (change.refused !== undefined) return { ok: false, message: change.refused };
  const { patchFiles } = rules.limits ?? DEFAULT_CHANGE_SET_LIMITS;
  if (change.paths.length > patchFiles) {
    return {
      ok: false,
      message: describeRefusals([
        { reason: `it touches ${change.paths.length} files, more than limits.patchFiles (${patchFiles}); make a smaller change` },
      ]),
    };
  }
  const changeSet = change.changeSet();
  const check = checkChangeSet(changeSet, rules);
  return check.ok ? { ok: true, changeSet } : { ok: false, message: check.message };
}
