import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { userOrgDir } from "../config/user-org-dir.ts";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { resealRestoredTranscript } from "../room/transcript.ts";

const TRANSCRIPT_FILE = /^([A-Za-z0-9][\w.-]{0,127})\.jsonl$/;

/**
 * The restored transcripts' lines sealed again for the workspace they are restored into: a transcript's seal names the
 * workspace it was written in (`backedUpFrom`, the manifest's), and a restore by the person whose org sealed them moves
 * that workspace. Only a line whose seal holds under the user's own key for the backed-up workspace is sealed again;
 * any other (another person's, made up, copied there from elsewhere) stays unheard. Returns the lines sealed again.
 */
export function resealRestoredTranscripts(workspaceDir: string, backedUpFrom: string, home: string | undefined = userOrgDir()): number {
  const sessionsDir = join(workspaceDir, SESSIONS_DIR);
  let names: string[];
  try {
    names = readdirSync(sessionsDir);
  } catch {
    return 0;
  }
  let resealed = 0;
  for (const name of names) {
    const session = TRANSCRIPT_FILE.exec(name)?.[1];
    const path = join(sessionsDir, name);
    if (session === undefined || !lstatSync(path).isFile()) continue;
    resealed += resealRestoredTranscript(path, session, join(backedUpFrom, SESSIONS_DIR), home);
  }
  return resealed;
}
