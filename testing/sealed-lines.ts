import { canonicalJson } from "../config/canonical-json.ts";
import { lineSealer } from "../config/line-seal.ts";
import { sealValue } from "../config/trust-store.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { transcriptSealer } from "../room/transcript.ts";
import { RESULT_SEAL_LABEL } from "../serve/jobs-log.ts";

// What org itself would have written, for tests that write a workspace's files line by line: each line sealed with the
// key of the test process's own org folder (ORG_HOME, set by the preload), as the room, the audit log and serve seal
// theirs. A test that plants a file as a clone or a forged backup would writes it without these.

/**
 * The text of session `sessionId`'s transcript in the sessions folder `sessionsDir` (a workspace's `.org/sessions`),
 * made of `lines` (JSON objects' texts), each sealed at the byte offset it will start at when the text is written at
 * `from` (0: a new file; a file's size: appended to it).
 */
export function sealedTranscriptText(sessionsDir: string, sessionId: string, lines: readonly string[], from = 0, home = userOrgDir()): string {
  const sealer = transcriptSealer(home, sessionsDir, sessionId, true);
  if (!sealer) throw new Error("no key to seal with: the test process has no ORG_HOME");
  let offset = from;
  let text = "";
  for (const line of lines) {
    const sealed = `${sealer.seal(String(offset), line)}\n`;
    offset += Buffer.byteLength(sealed);
    text += sealed;
  }
  return text;
}

/** The text of audit day `day` (YYYY-MM-DD) made of `lines`, each sealed as `AuditLog` seals it. */
export function sealedAuditText(day: string, lines: readonly string[], home = userOrgDir()): string {
  const sealer = lineSealer(home, `audit ${day}`, true);
  if (!sealer) throw new Error("no key to seal with: the test process has no ORG_HOME");
  return lines.map((line) => `${sealer.seal("", line)}\n`).join("");
}

/** A finished job's result file's text as serve writes it, sealed. */
export function sealedJobResultText(result: Record<string, unknown>, home = userOrgDir()): string {
  const text = JSON.stringify(result);
  const seal = sealValue(home, RESULT_SEAL_LABEL, canonicalJson(JSON.parse(text)));
  return `${text.slice(0, -1)},"seal":${JSON.stringify(seal)}}`;
}
