import { oneLine } from "../security/terminal-sanitizer.ts";
import { foldedText, fragmentOf, holdsText, saidMessages, textMutePattern } from "./mutes.ts";
import { PATTERN_NAMES } from "./pattern-names.ts";
import type { SupervisorState } from "./supervisor-state.ts";

/** A fragment shorter than this (letters and digits) would silence almost anything. */
const MIN_FRAGMENT = 4;
/** What a text mute is shown to match, at most. */
const SHOWN_MATCHES = 5;

/** What `org supervise mute PATTERN` silences: the pattern it keeps, and what it matches now (for a fragment of text). */
export type MuteChoice = { pattern: string; kind: "check" | "incident" | "key" | "signature" | "text"; matches: string[] } | { problem: string };

/**
 * What `pattern` silences: a check, an incident id, an incident's key, a signature id, else a fragment of the text a
 * person saw (a title, detail or excerpt of an incident, or an error line of a signature, compared without case and
 * with white space folded): kept as a text mute, with what it matches now. A fragment that matches nothing is refused.
 */
export function chooseMute(state: SupervisorState, pattern: string): MuteChoice {
  if (PATTERN_NAMES.includes(pattern)) return { pattern, kind: "check", matches: [] };
  if (state.incident(pattern)) return { pattern, kind: "incident", matches: [] };
  if (state.db.query("SELECT 1 FROM signatures WHERE id = ?").get(pattern)) return { pattern, kind: "signature", matches: [] };
  if (state.db.query("SELECT 1 FROM incidents WHERE key = ? OR pattern || ':' || key = ?").get(pattern, pattern))
    return { pattern, kind: "key", matches: [] };
  const fragment = fragmentOf(pattern);
  const named =
    `give a check (${PATTERN_NAMES.join(", ")}), an incident id, a signature id, or a part of an ` +
    `error's text as the webhook or 'org supervise status' shows it`;
  if (fragment.replace(/[^\p{L}\p{N}]/gu, "").length < MIN_FRAGMENT)
    return {
      problem: `nothing to mute named '${oneLine(pattern, 80)}', and as text it is too short (${MIN_FRAGMENT} letters or digits at least): ${named}`,
    };
  const matches = textMatches(state, fragment);
  if (matches.length === 0)
    return { problem: `nothing to mute named '${oneLine(pattern, 80)}', and no incident or error the supervisor has seen holds that text: ${named}` };
  return { pattern: textMutePattern(pattern), kind: "text", matches };
}

/**
 * The incidents (newest first) and error signatures whose text holds `fragment`, as one line each. An incident's text is
 * what it says now and what its messages said: one that is over says so in its detail, where its opening said the error.
 */
function textMatches(state: SupervisorState, fragment: string): string[] {
  const found: string[] = [];
  const said = saidMessages(state).filter((text) => text.includes(fragment));
  const incidents = state.db
    .query<{ id: string; pattern: string; key: string; title: string; detail: string; excerpt: string | null; state: string }, []>(
      "SELECT id, pattern, key, title, detail, excerpt, state FROM incidents ORDER BY opened_at DESC LIMIT 2000",
    )
    .all();
  for (const incident of incidents)
    if (holdsText(incident, fragment) || said.some((text) => text.includes(incident.id)))
      found.push(`incident ${incident.id} (${incident.state}): ${oneLine(incident.title, 160)}`);
  const signatures = state.db
    .query<{ id: string; example: string }, []>("SELECT id, example FROM signatures ORDER BY last_seen DESC LIMIT 2000")
    .all();
  for (const signature of signatures)
    if (foldedText(signature.example).includes(fragment)) found.push(`signature ${signature.id}: ${oneLine(signature.example, 160)}`);
  return found.length > SHOWN_MATCHES ? [...found.slice(0, SHOWN_MATCHES), `and ${found.length - SHOWN_MATCHES} more`] : found;
}
