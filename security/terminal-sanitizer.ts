// What a terminal acts on instead of showing: C0 controls except tab and newline (ESC starts every escape
// sequence; BS and CR move the cursor), DEL, C1 controls (U+009B is a one-character CSI, U+009D an OSC on
// terminals that read UTF-8 C1), and the bidi controls that reorder what is shown (Trojan Source).
// A CR directly before a newline is a Windows line end and is dropped; a bare CR is shown.
const UNSAFE = /\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(character: string): string {
  if (character === "\r\n") return "\n";
  const code = character.charCodeAt(0);
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text from outside org (models, servers, tools, replayed transcripts) as the terminal may show it: every
 * control character, escape sequence introducer and bidi control becomes a visible escape such as `\x1b`
 * or `\u202e`; newlines and tabs stay. org's own colours are added after this, never before.
 */
export function sanitizeForTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

// White space of every kind, line breaks among them (CR, LF, VT, FF, NEL, the Unicode line and paragraph separators).
const WHITE_SPACE = /[\s\u0085]+/g;
// Characters that show as nothing and hide what stands around them: zero-width ones, the word joiner, the BOM.
const INVISIBLE = /[\u200b-\u200d\u2060-\u2065\ufeff]/g;

/**
 * Text as one line of output, a log, a prompt or a commit message: every run of white space (line breaks and tabs too)
 * one space, so nothing starts a fake line; every control, bidi control and invisible character a visible escape (as
 * `sanitizeForTerminal` writes them); trimmed, and cut to `max` characters with "…". The one way org makes a line.
 */
export function oneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  // A bound on the work for a huge text: what lies past it could not be shown anyway.
  const bound = Number.isFinite(max) ? max * 8 : text.length;
  const cut = text.length > bound;
  const flat = sanitizeForTerminal(text.slice(0, bound).replace(WHITE_SPACE, " ")).replace(INVISIBLE, visible).trim();
  if (flat.length > max || (cut && flat.length >= max)) return `${flat.slice(0, max - 1).trimEnd()}…`;
  return cut ? `${flat}…` : flat;
}
