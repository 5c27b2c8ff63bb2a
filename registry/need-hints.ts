import { lstatSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { GROW_DIR, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from "../security/private-state.ts";

// Needs the room could not meet though a promoted tool answers them, as `org grow` found them (its `covered`
// proposals): `.org/grow/covered.json` of the workspace. Per-turn tool choice offers that tool first for a message
// like the need, so the persona that said it could not is shown the tool that can.

export const NeedHint = z.strictObject({ goal: z.string().min(1).max(200), tool: z.string().regex(TOOL_NAME_PATTERN) });
export type NeedHint = z.infer<typeof NeedHint>;

/** Hints kept: the covered needs most recently seen. */
const MAX_HINTS = 2_000;
const NeedHints = z.strictObject({ version: z.literal(1), hints: z.array(NeedHint).max(MAX_HINTS) });

/** Past this size the file is not read (it is written by org grow alone, far below it). */
const MAX_BYTES = 1024 * 1024;

/** `.org/grow/covered.json` of a workspace. */
function needHintsPath(workspaceDir: string): string {
  return join(workspaceDir, GROW_DIR, "covered.json");
}

/** The workspace's hints; none when grow never wrote any, or the file is not what it wrote (a link, too big, damaged). */
export function readNeedHints(workspaceDir: string): NeedHint[] {
  const path = needHintsPath(workspaceDir);
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat?.isFile() || stat.size > MAX_BYTES) return [];
  try {
    return NeedHints.parse(JSON.parse(readPrivateFile(path))).hints;
  } catch {
    return [];
  }
}

/** Replaces the workspace's hints, atomically. */
export function writeNeedHints(workspaceDir: string, hints: readonly NeedHint[]): void {
  ensurePrivateDir(join(workspaceDir, GROW_DIR));
  writePrivateFile(needHintsPath(workspaceDir), `${JSON.stringify(NeedHints.parse({ version: 1, hints: hints.slice(0, MAX_HINTS) }))}\n`);
}
