// Terminal escape sequences: CSI, OSC (ended by BEL, ST, a line break or 256 characters), and two-byte ones
// such as ESC ( B, which `tput sgr0` writes.
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]{0,256}(?:\x07|\x1b\\)?|[ -/]*[0-~])?/y;
// Beyond ASCII: whitespace (line and paragraph separators, no-break spaces), format characters (zero-width
// spaces and joiners, direction marks, soft hyphens) and the U+FFFD a control byte became.
const INVISIBLE_BEYOND_ASCII = /[\s\p{Cf}\uFFFD]/u;
const SPACE_BEYOND_ASCII = /\s/u;

/**
 * What may sit inside a printed secret without hiding it from a reader: spaces, tabs and line breaks (base64
 * wraps at 76 columns, hex dumps space their bytes, YAML indents), control bytes and the characters above.
 */
export function isInvisible(code: number): boolean {
  if (code < 0x80) return code <= 0x20 || code === 0x7f;
  return INVISIBLE_BEYOND_ASCII.test(String.fromCharCode(code));
}

function isSpace(code: number): boolean {
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return SPACE_BEYOND_ASCII.test(String.fromCharCode(code));
}

export type View = { text: string; origin: Int32Array; spaced: Uint8Array };

/**
 * The text without invisible characters: `origin[i]` is where the view's i-th character stands in `text`,
 * `spaced[i]` whether whitespace was taken out just before it. With `sequences`, whole escape sequences go;
 * without, only the ESC byte, so a stray ESC cannot hide the character after it. Undefined when nothing
 * was taken out.
 */
export function invisibleFreeView(text: string, sequences: boolean): View | undefined {
  const pieces: string[] = [];
  const origin = new Int32Array(text.length);
  const spaced = new Uint8Array(text.length);
  let length = 0;
  let runStart = 0;
  let skipped = false;
  let space = false;
  for (let index = 0; index < text.length; ) {
    const code = text.charCodeAt(index);
    let skip = 0;
    if (code === 0x1b && sequences) {
      ESCAPE_SEQUENCE.lastIndex = index;
      skip = ESCAPE_SEQUENCE.exec(text)?.[0].length ?? 1;
    } else if (isInvisible(code)) {
      skip = 1;
      space ||= isSpace(code);
    }
    if (skip === 0) {
      if (space) spaced[length] = 1;
      space = false;
      origin[length++] = index;
      index += 1;
      continue;
    }
    if (index > runStart) pieces.push(text.slice(runStart, index));
    skipped = true;
    index += skip;
    runStart = index;
  }
  if (!skipped) return undefined;
  pieces.push(text.slice(runStart));
  return { text: pieces.join(""), origin, spaced };
}

/** Where the view's `index`-th character stands in the text; an index outside the view is a bug. */
export function originOf(view: View, index: number): number {
  const origin = view.origin[index];
  if (origin === undefined || index >= view.text.length)
    throw new Error(`index ${index} is outside the invisible-free view (${view.text.length} characters)`);
  return origin;
}

/** Where `text`'s escape sequences are, as [start, end) spans: a stream cut inside one would read its rest as text. */
export function escapeSequenceSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  for (let at = text.indexOf("\x1b"); at !== -1; at = text.indexOf("\x1b", at + 1)) {
    ESCAPE_SEQUENCE.lastIndex = at;
    spans.push([at, at + (ESCAPE_SEQUENCE.exec(text)?.[0].length ?? 1)]);
  }
  return spans;
}
