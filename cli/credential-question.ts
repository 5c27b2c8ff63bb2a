import type { CredentialChoice } from "../room/room.ts";
import type { SecretScan } from "../security/scan-for-secrets.ts";

/** What the user chose for a message holding what looks like a credential: send it one way, or edit it. */
export type CredentialAnswer = CredentialChoice | "edit";

/** The prompt of the question; Enter alone sends the message redacted. */
export const CREDENTIAL_PROMPT = "send it [r]edacted (Enter) / as [w]ritten / [e]dit: ";

// The redacted message shown in the question is cut here: it is a reminder, not the message.
const SHOWN_CHARS = 200;

/** The lines above the prompt: what was found, and the message as it would go redacted (on one line). */
export function credentialQuestionLines(scan: SecretScan): string[] {
  const flat = scan.redacted.replace(/\s+/g, " ").trim();
  const shown = flat.length > SHOWN_CHARS ? `${flat.slice(0, SHOWN_CHARS - 1)}…` : flat;
  const kinds = scan.kinds.length <= 1 ? (scan.kinds[0] ?? "") : `${scan.kinds.slice(0, -1).join(", ")} and ${scan.kinds.at(-1)}`;
  return [`Your message holds what looks like ${kinds}. Redacted, it reads:`, `  ${shown}`];
}

/**
 * An answer typed at the question: Enter or `r` sends it redacted, `w` as written, `e` puts it back on the
 * line; an interrupt (undefined) puts it back too, so nothing is sent by accident. Anything else: undefined,
 * ask again.
 */
export function parseCredentialAnswer(reply: string | undefined): CredentialAnswer | undefined {
  if (reply === undefined) return "edit";
  const word = reply.trim().toLowerCase();
  if (word === "" || word === "r" || word === "redact" || word === "redacted") return "redact";
  if (word === "w" || word === "written" || word === "as written") return "as-written";
  if (word === "e" || word === "edit") return "edit";
  return undefined;
}
