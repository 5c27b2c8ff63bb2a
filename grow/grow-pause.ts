import { lstatSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { GROW_DIR } from "../config/workspace-paths.ts";
import { readPrivateFile, writePrivateFile } from "../security/private-state.ts";
import { growDir } from "./grow-state.ts";

// Unattended grow runs (`org grow` without --once, `ops/grow.sh`, `serve --grow-every`) wait while
// `.org/grow/paused.json` says so: `org supervise` pauses them while the model server is away (a run would only fail
// its builds) and resumes them when it is back. `org grow --once` is a person's run and is not held back.

const Pause = z.strictObject({ reason: z.string().max(2000), since: z.iso.datetime(), by: z.string().max(200) });
export type GrowPause = z.infer<typeof Pause>;

function pausePath(workspaceDir: string): string {
  return join(workspaceDir, GROW_DIR, "paused.json");
}

/** Why unattended runs of the workspace wait, or undefined when they do not (a damaged file counts as no pause). */
export function growPause(workspaceDir: string): GrowPause | undefined {
  const path = pausePath(workspaceDir);
  if (!lstatSync(path, { throwIfNoEntry: false })) return undefined;
  try {
    return Pause.parse(JSON.parse(readPrivateFile(path)));
  } catch {
    return undefined;
  }
}

/** Pauses the workspace's unattended runs, saying why and who paused them. */
export function pauseGrow(workspaceDir: string, reason: string, by: string, now = new Date()): GrowPause {
  growDir(workspaceDir);
  const pause = { reason: reason.slice(0, 2000), since: now.toISOString(), by: by.slice(0, 200) };
  writePrivateFile(pausePath(workspaceDir), `${JSON.stringify(pause, null, 2)}\n`, { durable: true });
  return pause;
}

/** Lets the workspace's unattended runs go on; false when they were not paused. */
export function resumeGrow(workspaceDir: string): boolean {
  const path = pausePath(workspaceDir);
  if (!lstatSync(path, { throwIfNoEntry: false })) return false;
  rmSync(path, { force: true });
  return true;
}
