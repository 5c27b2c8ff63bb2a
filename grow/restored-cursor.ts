import { lstatSync } from "node:fs";
import { join } from "node:path";
import { AUDIT_DIR, GROW_DIR, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { readGrowState, writeGrowState } from "./grow-state.ts";

/**
 * After `org restore`: the cursor's marks name the inodes of the transcripts and audit days they were read from, and a
 * restore makes those files anew (byte for byte the same, other inodes), which a run would take for files replaced and
 * read again from their start, counting every need twice. Each mark whose file is there and at least as long moves to
 * the file's new inode, so the next run reads on from where the backup's left off. Returns how many marks moved.
 */
export function reanchorGrowCursor(workspaceDir: string): number {
  if (!lstatSync(join(workspaceDir, GROW_DIR, "proposals.json"), { throwIfNoEntry: false })) return 0;
  const state = readGrowState(workspaceDir);
  let moved = 0;
  const reanchor = (mark: { offset: number; ino: number }, path: string) => {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile() || stat.size < mark.offset || stat.ino === mark.ino) return;
    mark.ino = stat.ino;
    moved += 1;
  };
  for (const [session, mark] of Object.entries(state.cursor.sessions)) reanchor(mark, join(workspaceDir, SESSIONS_DIR, `${session}.jsonl`));
  for (const [day, mark] of Object.entries(state.cursor.audit)) reanchor(mark, join(workspaceDir, AUDIT_DIR, `${day}.jsonl`));
  if (moved > 0) writeGrowState(workspaceDir, state);
  return moved;
}
