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

// Everything that breaks a line: CR, LF, VT, FF, NEL and the Unicode line and paragraph separators, and tabs.
const LINE_BREAKS = /[\r\n\t\v\f\u0085\u2028\u2029]+/g;

/**
 * Model text for one line of output or of a commit message: line breaks and tabs become one space (no fake
 * lines), then every other control and bidi control becomes a visible escape as in sanitizeForTerminal;
 * trimmed, and cut to `max` characters with "…".
 */
export function sanitizeOneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  const flat = sanitizeForTerminal(text.replace(LINE_BREAKS, " ")).trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
