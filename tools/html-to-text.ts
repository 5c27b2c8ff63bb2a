// A page is hostile input: the conversion is one left-to-right scan whose every search starts where the last
// one ended, so unclosed tags, endless comments or entity floods cost time linear in the page, and the scan
// can pause between slices (`htmlToTextAsync`) so that a server stays responsive while it runs.

const NAMED_ENTITIES = new Map<string, string>(
  Object.entries({
    amp: "&",
    lt: "<",
    gt: ">",
    quot: '"',
    apos: "'",
    nbsp: " ",
    mdash: "—",
    ndash: "–",
    hellip: "…",
    copy: "©",
    reg: "®",
    laquo: "«",
    raquo: "»",
  }),
);

type TagKind = "raw" | "break" | "block" | "cell";
const TAG_KINDS = new Map<string, TagKind>([
  // Dropped with everything up to their end tag (or the end of the page).
  ...["script", "style", "noscript", "template", "svg", "head"].map((name) => [name, "raw"] as const),
  ...["br", "hr"].map((name) => [name, "break"] as const),
  ..."p div section article header footer main nav aside li ul ol tr table pre blockquote dd dt dl form figure figcaption h1 h2 h3 h4 h5 h6"
    .split(" ")
    .map((name) => [name, "block"] as const),
  ...["td", "th"].map((name) => [name, "cell"] as const),
]);
const LONGEST_NAME = 10;
const TITLE_MAX = 500;
// Characters looked at between two pauses of `htmlToTextAsync`.
const SLICE_STEPS = 1 << 18;

const LT = "<".charCodeAt(0);
const GT = ">".charCodeAt(0);
const AMP = "&".charCodeAt(0);
const HASH = "#".charCodeAt(0);
const SEMICOLON = ";".charCodeAt(0);
const SLASH = "/".charCodeAt(0);
const BANG = "!".charCodeAt(0);
const QUESTION = "?".charCodeAt(0);

/** What the scanner did: its text and how many characters it looked at (linear in the input). */
export type HtmlToTextRun = { text: string; steps: number };

const isLetter = (code: number) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
const isDigit = (code: number) => code >= 48 && code <= 57;
const isHex = (code: number) => isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
const isWordChar = (code: number) => isLetter(code) || isDigit(code) || code === 95;
// What a regex's `\s` matches.
const isSpace = (code: number) =>
  code === 32 ||
  (code >= 9 && code <= 13) ||
  code === 0xa0 ||
  code === 0x1680 ||
  (code >= 0x2000 && code <= 0x200a) ||
  code === 0x2028 ||
  code === 0x2029 ||
  code === 0x202f ||
  code === 0x205f ||
  code === 0x3000 ||
  code === 0xfeff;

// `nextAmp`: the first `&` at or after the last search (-1: none left), so that text without entities is not
// looked at twice; `entity`: the text of the entity `readEntity` read last.
type Counter = { steps: number; nextAmp: number | undefined; entity: string };

/** Where the entity at `at` (an `&`) ends, its text in `counter.entity`; -1 when it is not one (the `&` stays text). */
function readEntity(html: string, at: number, end: number, counter: Counter): number {
  let index = at + 1;
  if (html.charCodeAt(index) === HASH) {
    index++;
    const hex = html.charCodeAt(index) === 120 || html.charCodeAt(index) === 88;
    if (hex) index++;
    const start = index;
    const limit = Math.min(end, start + (hex ? 6 : 7));
    while (index < limit && (hex ? isHex(html.charCodeAt(index)) : isDigit(html.charCodeAt(index)))) index++;
    if (index === start || html.charCodeAt(index) !== SEMICOLON || index >= end) return -1;
    const code = Number.parseInt(html.slice(start, index), hex ? 16 : 10);
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    counter.entity = valid ? String.fromCodePoint(code) : "";
    return index + 1;
  }
  const start = index;
  const limit = Math.min(end, start + 8);
  while (index < limit && isLetter(html.charCodeAt(index))) index++;
  if (index - start < 2 || html.charCodeAt(index) !== SEMICOLON || index >= end) return -1;
  const name = html.slice(start, index);
  const decoded = NAMED_ENTITIES.get(name) ?? NAMED_ENTITIES.get(name.toLowerCase());
  if (decoded === undefined) return -1;
  counter.entity = decoded;
  return index + 1;
}

/** `html[from, to)` with its entities decoded. */
function decodeText(html: string, from: number, to: number, counter: Counter): string {
  if (from >= to) return "";
  counter.steps += to - from;
  if (counter.nextAmp === undefined || (counter.nextAmp !== -1 && counter.nextAmp < from)) counter.nextAmp = find(html, "&", from, counter);
  if (counter.nextAmp === -1 || counter.nextAmp >= to) return html.slice(from, to);
  let out = "";
  let kept = from;
  for (let index = counter.nextAmp; index < to; index++) {
    if (html.charCodeAt(index) !== AMP) continue;
    const end = readEntity(html, index, to, counter);
    if (end === -1) continue;
    out += html.slice(kept, index) + counter.entity;
    kept = end;
    index = end - 1;
  }
  return kept === from ? html.slice(from, to) : out + html.slice(kept, to);
}

/** `html.indexOf(needle, from)`, its cost counted. */
function find(html: string, needle: string, from: number, counter: Counter): number {
  const found = html.indexOf(needle, from);
  counter.steps += (found === -1 ? html.length : found + needle.length) - from + 1;
  return found;
}

/** Whether `html` at `at` spells `name` (lower case) in any case. */
function spells(html: string, at: number, name: string): boolean {
  for (let index = 0; index < name.length; index++) {
    const code = html.charCodeAt(at + index);
    if ((code >= 65 && code <= 90 ? code + 32 : code) !== name.charCodeAt(index)) return false;
  }
  return true;
}

/** Where the end tag `</name\s*>` of a raw-text element ends, searching from `from`; -1 when there is none. */
function rawTextEnd(html: string, name: string, from: number, counter: Counter): number {
  let at = from;
  for (;;) {
    const open = find(html, "</", at, counter);
    if (open === -1) return -1;
    let index = open + 2;
    if (spells(html, index, name)) {
      index += name.length;
      while (index < html.length && isSpace(html.charCodeAt(index))) index++;
      counter.steps += index - open;
      if (html.charCodeAt(index) === GT) return index + 1;
    }
    at = open + 2;
  }
}

/** The first `<title…>`'s text (at most 500 characters up to the next `<`), trimmed and decoded. */
function readTitle(html: string, counter: Counter): string {
  let at = 0;
  for (;;) {
    const open = find(html, "<", at, counter);
    if (open === -1) return "";
    if (spells(html, open + 1, "title")) {
      const close = find(html, ">", open + 6, counter);
      if (close === -1) return "";
      const start = close + 1;
      const limit = Math.min(html.length, start + TITLE_MAX);
      let end = start;
      while (end < limit && html.charCodeAt(end) !== LT) end++;
      counter.steps += end - start;
      const raw = html.slice(start, end).trim();
      const own = { steps: 0, nextAmp: undefined, entity: "" };
      const title = decodeText(raw, 0, raw.length, own);
      counter.steps += own.steps;
      return title;
    }
    at = open + 1;
  }
}

/** One line with runs of spaces, tabs and no-break spaces made one space, then trimmed. */
function collapseLine(line: string): string {
  let out = "";
  let kept = 0;
  for (let index = 0; index < line.length; index++) {
    const code = line.charCodeAt(index);
    if (code !== 32 && code !== 9 && code !== 0xa0) continue;
    let end = index + 1;
    while (end < line.length && (line.charCodeAt(end) === 32 || line.charCodeAt(end) === 9 || line.charCodeAt(end) === 0xa0)) end++;
    if (end - index === 1 && code === 32) {
      index = end - 1;
      continue;
    }
    out += `${line.slice(kept, index)} `;
    kept = end;
    index = end - 1;
  }
  return (kept === 0 ? line : out + line.slice(kept)).trim();
}

/**
 * The conversion as a generator that pauses every `SLICE_STEPS` characters: scripts, styles and comments
 * dropped, block elements on their own lines, tags removed, entities decoded, blank runs collapsed.
 */
function* convert(html: string, counter: Counter): Generator<undefined, string, undefined> {
  const stripped = yield* stripTags(html, counter);
  const body = yield* joinLines(stripped.raw, counter, stripped.pauseAt);
  const title = readTitle(html, counter);
  return title ? `${title}\n\n${body}` : body;
}

/**
 * The page's text with its markup gone: scripts, styles and comments dropped, a block element's tags a line break,
 * a cell's a tab, every other tag nothing, entities decoded. Pauses every `SLICE_STEPS` characters; returns the
 * text and the count of steps at which the next pause falls.
 */
function* stripTags(html: string, counter: Counter): Generator<undefined, { raw: string; pauseAt: number }, undefined> {
  const length = html.length;
  let pauseAt = SLICE_STEPS;
  let raw = "";
  let at = 0;
  // Where the text not yet decoded into `raw` starts (a `<` that opens no tag leaves it where it was).
  let textStart = 0;
  while (at < length) {
    if (counter.steps >= pauseAt) {
      pauseAt = counter.steps + SLICE_STEPS;
      yield;
    }
    const open = find(html, "<", at, counter);
    if (open === -1) break;
    const next = html.charCodeAt(open + 1);
    const closing = next === SLASH && isLetter(html.charCodeAt(open + 2));
    if (next === BANG && html.startsWith("--", open + 2)) {
      // A comment, to `-->` or the end of the page.
      const close = find(html, "-->", open + 4, counter);
      raw += `${decodeText(html, textStart, open, counter)} `;
      at = close === -1 ? length : close + 3;
      textStart = at;
      continue;
    }
    if (!isLetter(next) && !closing) {
      if (next === BANG || next === QUESTION || next === SLASH) {
        // `<!DOCTYPE …>`, `<![CDATA[…]]>`, `<?xml …?>`, `</ …>`: markup up to the next `>` (or the end).
        const close = find(html, ">", open + 1, counter);
        at = close === -1 ? length : close + 1;
        raw += decodeText(html, textStart, open, counter);
        textStart = at;
      } else {
        // `a < b`: a `<` that opens no tag is text.
        at = open + 1;
      }
      continue;
    }
    raw += decodeText(html, textStart, open, counter);
    const nameStart = closing ? open + 2 : open + 1;
    let nameEnd = nameStart;
    let upper = false;
    for (let code = html.charCodeAt(nameEnd); nameEnd < length && isWordChar(code); code = html.charCodeAt(++nameEnd))
      upper ||= code >= 65 && code <= 90;
    counter.steps += nameEnd - nameStart;
    const spelled = nameEnd - nameStart <= LONGEST_NAME ? html.slice(nameStart, nameEnd) : "";
    const name = upper ? spelled.toLowerCase() : spelled;
    const kind = TAG_KINDS.get(name);
    if (!closing && kind === "raw") {
      const end = rawTextEnd(html, name, nameEnd, counter);
      raw += " ";
      at = end === -1 ? length : end;
      textStart = at;
      continue;
    }
    const close = find(html, ">", nameEnd, counter);
    if (close === -1) {
      textStart = length;
      break;
    }
    if (kind === "block" || (kind === "break" && !closing)) raw += "\n";
    else if (kind === "cell" && !closing) raw += "\t";
    at = close + 1;
    textStart = at;
  }
  if (textStart < length) raw += decodeText(html, textStart, length, counter);
  return { raw, pauseAt };
}

/** Lines: spaces collapsed and trimmed; at most one blank line in a row; none at either end. Pauses as `stripTags` does, from `pauseAt` on. */
function* joinLines(raw: string, counter: Counter, pauseAt: number): Generator<undefined, string, undefined> {
  let body = "";
  let blank = false;
  let at = 0;
  let nextPause = pauseAt;
  while (at <= raw.length) {
    if (counter.steps >= nextPause) {
      nextPause = counter.steps + SLICE_STEPS;
      yield;
    }
    const newline = find(raw, "\n", at, counter);
    const end = newline === -1 ? raw.length : newline;
    const line = end === at ? "" : collapseLine(raw.slice(at, end));
    counter.steps += end - at;
    if (line === "") blank = true;
    else {
      body += body === "" ? line : blank ? `\n\n${line}` : `\n${line}`;
      blank = false;
    }
    at = end + 1;
  }
  return body;
}

/** The readable text of an HTML page, and how many characters the scan looked at. */
export function htmlToTextRun(html: string): HtmlToTextRun {
  const counter = { steps: 0, nextAmp: undefined, entity: "" };
  const scan = convert(html, counter);
  for (;;) {
    const next = scan.next();
    if (next.done) return { text: next.value, steps: counter.steps };
  }
}

/**
 * The readable text of an HTML page: scripts, styles and comments dropped, block elements on their own
 * lines, tags removed, entities decoded, blank runs collapsed. Linear in the page, whatever it holds.
 */
export function htmlToText(html: string): string {
  return htmlToTextRun(html).text;
}

/**
 * `htmlToText` that gives the event loop a turn between slices of the scan and stops with `signal`'s reason
 * once it is aborted: a server converting a page keeps answering, and a deadline covers the conversion.
 */
export async function htmlToTextAsync(html: string, signal: AbortSignal): Promise<string> {
  const scan = convert(html, { steps: 0, nextAmp: undefined, entity: "" });
  for (;;) {
    signal.throwIfAborted();
    const next = scan.next();
    if (next.done) return next.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
