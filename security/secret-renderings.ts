// Renderings of a known secret that no fixed form of it matches, each read back into what it renders before the
// secrets are looked for: its characters with one separator between them (`sed 's/./&-/g'`, `fold -w1`, `grep -o .`),
// the bytes of a dump across its lines (`od -c`, `od -t x1`, `od -x`, `hexdump`, `hexdump -C`, `xxd`, `xxd -p`), and a
// gzip stream in base64 or base32 (`gzip -c .env | base64`) or in a dump, inflated. Each gives the spans of the text to
// hide: the separated characters, the dump's lines that hold a secret's bytes, the whole encoded stream.

/** The separated-characters pattern of a known secret, worked out once per set of secrets. */
export type SeparatedPattern = RegExp;

/** Separators between a secret's characters, at most this long (od -c's columns are 4 wide: 3 spaces). */
const LONGEST_SEPARATOR = 4;
/** What an inflated stream may grow to before it is cut (a gzip bomb in tool output stays small). */
const MAX_INFLATED = 4 * 1024 * 1024;

const escaped = (character: string) => character.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/**
 * A secret's characters with one separator between them, the same separator each time, 1 to 4 characters: `s-e-c`,
 * `s e c`, `s\ne\nc`, `s   e   c`. The same separator throughout keeps ordinary text from matching by chance.
 */
export function separatedPattern(secret: string): SeparatedPattern {
  const [first = "", ...rest] = [...secret];
  // A named reference: `\1` before a digit of the secret would read as `\10`.
  const tail = rest.map((character, index) => (index === 0 ? escaped(character) : `\\k<separator>${escaped(character)}`)).join("");
  return new RegExp(`${escaped(first)}(?<separator>[^]{1,${LONGEST_SEPARATOR}}?)${tail}`, "g");
}

/**
 * Where separated renderings of the secrets begin in `text`: `whole`, the first whole one; `cutShort`, the first that
 * more text could finish (its first character, a separator, the next ones as far as the text goes). Each is the text's
 * length when there is none. A stream holds the one cut short back until it is finished or broken.
 */
export function separatedRenderings(text: string, secrets: readonly string[]): { whole: number; cutShort: number } {
  const found = { whole: text.length, cutShort: text.length };
  for (const secret of secrets) {
    const first = secret.charCodeAt(0);
    for (let at = text.indexOf(secret.charAt(0)); at !== -1; at = text.indexOf(secret.charAt(0), at + 1)) {
      if (text.charCodeAt(at) !== first) continue;
      const kind = separatedFrom(text, at, secret);
      if (kind === "whole" && at < found.whole) found.whole = at;
      else if (kind === "cut short" && at < found.cutShort) found.cutShort = at;
    }
  }
  return found;
}

/** Whether `text` from `at` renders `secret` with its characters separated: whole, cut short by the text's end, or not. */
function separatedFrom(text: string, at: number, secret: string): "whole" | "cut short" | undefined {
  const end = text.length;
  if (at + 1 === end) return undefined;
  let cutShort = false;
  for (let length = 1; length <= LONGEST_SEPARATOR; length += 1) {
    const separator = at + 1;
    if (separator + length >= end) {
      cutShort = true;
      continue;
    }
    let position = separator + length;
    for (let next = 1; ; ) {
      if (text.charCodeAt(position) !== secret.charCodeAt(next)) break;
      next += 1;
      position += 1;
      if (next === secret.length) return "whole";
      // The same separator again, or as much of it as the text has.
      let same = 0;
      while (same < length && position + same < end && text.charCodeAt(position + same) === text.charCodeAt(separator + same)) same += 1;
      if (position + same === end) {
        cutShort = true;
        break;
      }
      if (same < length) break;
      position += length;
      if (position === end) {
        cutShort = true;
        break;
      }
    }
  }
  return cutShort ? "cut short" : undefined;
}

/** Where the text renders a known secret: its separated characters, a dump's lines, a compressed stream. */
export function renderedSecretSpans(text: string, secrets: readonly string[], separated: readonly SeparatedPattern[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const pattern of separated) {
    pattern.lastIndex = 0;
    for (const match of text.matchAll(pattern)) spans.push([match.index, match.index + match[0].length]);
  }
  if (secrets.length === 0) return spans;
  const wanted = secrets.map((secret) => Buffer.from(secret).toString("latin1"));
  spans.push(...dumpSpans(text, wanted), ...compressedSpans(text, wanted), ...codedSpans(text, wanted));
  return spans;
}

// Each byte as a number (`od -An -tu1`, `list(bytes)`, `printf '%d '`), as eight bits (`xxd -b`), or a character as an
// entity or an escape (`&#115;`, `&#x73;`, `\u0073`, `\x73`, `%73` in either case or both, as a URL or a form body
// carries every character percent-encoded): runs of at least six, whatever separates them.
const DECIMAL_CODES = /(?<![\d.])\d{1,3}(?:[\s,;[\]()]{1,8}\d{1,3}){5,}(?![\d.])/g;
const XXD_BITS_LINE = /^[0-9a-f]{8}: ((?:[01]{8} ){1,6}).*$/gm;
const BINARY_CODES = /(?<!\d)[01]{8}(?:[\s,;]{1,8}[01]{8}){5,}(?!\d)/g;
const ESCAPED_CODES = /(?:&#x[0-9a-f]{1,6};|&#\d{1,7};|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}|%u[0-9a-f]{4}|%[0-9a-f]{2}){6,}/gi;

/** Each run of characters written as their codes that holds a secret, whole. */
function codedSpans(text: string, wanted: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  const check = (pattern: RegExp, decode: (run: string) => string | undefined) => {
    for (const match of text.matchAll(pattern)) {
      const decoded = decode(match[0]);
      if (decoded !== undefined && wanted.some((secret) => decoded.includes(secret))) spans.push([match.index, match.index + match[0].length]);
    }
  };
  const bytesOf = (numbers: number[]) => (numbers.every((code) => code < 256) ? Buffer.from(numbers).toString("latin1") : undefined);
  if (/\d{1,3}\D{1,8}\d{1,3}/.test(text)) check(DECIMAL_CODES, (run) => bytesOf((run.match(/\d+/g) ?? []).map(Number)));
  if (/[01]{8}/.test(text)) {
    check(BINARY_CODES, (run) => bytesOf((run.match(/[01]{8}/g) ?? []).map((bits) => Number.parseInt(bits, 2))));
    // `xxd -b`: six bytes a line after an offset, the characters after them; read across its lines as one run.
    const lines = [...text.matchAll(XXD_BITS_LINE)];
    const bits = lines.flatMap((line) => line[1]?.match(/[01]{8}/g) ?? []);
    const first = lines[0];
    const last = lines.at(-1);
    const decoded = bytesOf(bits.map((byte) => Number.parseInt(byte, 2)));
    if (first && last && decoded !== undefined && wanted.some((secret) => decoded.includes(secret)))
      spans.push([first.index, last.index + last[0].length]);
  }
  if (/&#|\\[ux]|%u|%[0-9a-f]{2}/i.test(text))
    check(ESCAPED_CODES, (run) =>
      Buffer.from(
        (run.match(/&#x[0-9a-f]+;|&#\d+;|\\u[0-9a-f]{4}|\\x[0-9a-f]{2}|%u[0-9a-f]{4}|%[0-9a-f]{2}/gi) ?? [])
          .map((code) =>
            String.fromCodePoint(
              code.startsWith("&#x") || code.startsWith("&#X")
                ? Number.parseInt(code.slice(3, -1), 16)
                : code.startsWith("&#")
                  ? Number(code.slice(2, -1))
                  : /^%[0-9a-f]{2}$/i.test(code)
                    ? Number.parseInt(code.slice(1), 16)
                    : Number.parseInt(code.slice(2), 16),
            ),
          )
          .join(""),
      ).toString("latin1"),
    );
  return spans;
}

/** Whether bytes (as latin1) hold a wanted secret, as they are or inflated when they are a gzip stream. */
function holdsSecret(bytes: string, wanted: readonly string[]): boolean {
  if (wanted.some((secret) => bytes.includes(secret))) return true;
  const start = bytes.indexOf("\x1f\x8b");
  if (start === -1) return false;
  const inflated = inflate(Buffer.from(bytes.slice(start), "latin1"));
  return inflated !== undefined && wanted.some((secret) => inflated.includes(secret));
}

/** node:zlib, loaded when a compressed stream is first met: loading it costs a process about 15 ms of CPU. */
const zlib = (): typeof import("node:zlib") => process.getBuiltinModule("node:zlib");

/** A zlib stream's bytes inflated as far as they go, as latin1; undefined when it is none. */
function inflateZlib(bytes: Buffer): string | undefined {
  const { constants, inflateSync } = zlib();
  try {
    return inflateSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED }).toString("latin1");
  } catch {
    return undefined;
  }
}

/** A gzip stream's bytes inflated as far as they go (a stream cut short gives what it holds), as latin1; undefined when it is none. */
function inflate(bytes: Buffer): string | undefined {
  const { constants, gunzipSync } = zlib();
  try {
    return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED }).toString("latin1");
  } catch {
    return undefined;
  }
}

// A line of `od -c`: an offset (none with -An), then cells 4 wide: a character, a space, a C escape, an octal byte.
const OD_CHARACTER_LINE = /^(?:[0-9a-fA-F]{6,8})?((?: {3}[^ \n]| {2}\\[0abtnvfr]| [0-7]{3}| {4}){2,32}) *$/gm;
// A line of hex: an offset (`00000000`, `00000000:`, none), then bytes or words of hex, then perhaps the characters.
const HEX_LINE = /^(?:[0-9a-fA-F]{6,8}:? {1,2})?((?:[0-9a-fA-F]{2}){1,32}(?: {1,2}(?:[0-9a-fA-F]{2}){1,4})*)(?: {2,}.*)? *$/gm;
const OD_ESCAPES: Record<string, string> = { "0": "\0", a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r" };

type DumpLine = { start: number; end: number; bytes: string; swapped: string };

function odCharacterLine(match: RegExpMatchArray): DumpLine {
  const cells = match[1] ?? "";
  let bytes = "";
  for (let at = 0; at + 4 <= cells.length; at += 4) {
    const cell = cells.slice(at, at + 4);
    if (cell[2] === "\\") bytes += OD_ESCAPES[cell[3] ?? ""] ?? "";
    else if (/^ [0-7]{3}$/.test(cell)) bytes += String.fromCharCode(Number.parseInt(cell.slice(1), 8) & 0xff);
    else bytes += cell[3] ?? "";
  }
  return { start: match.index ?? 0, end: (match.index ?? 0) + match[0].length, bytes, swapped: bytes };
}

function hexLine(match: RegExpMatchArray): DumpLine {
  let bytes = "";
  let swapped = "";
  for (const group of (match[1] ?? "").split(/ +/)) {
    const pairs = group.match(/../g) ?? [];
    const read = pairs.map((pair) => String.fromCharCode(Number.parseInt(pair, 16))).join("");
    bytes += read;
    // `od -x` and `hexdump` print 16-bit words in the machine's order: on a little-endian one, each word's bytes swapped.
    swapped += group.length === 4 ? `${read[1] ?? ""}${read[0] ?? ""}` : read;
  }
  return { start: match.index ?? 0, end: (match.index ?? 0) + match[0].length, bytes, swapped };
}

/** Runs of dump lines one after the other (a line break between each), each read into its bytes. */
function dumpBlocks(text: string, pattern: RegExp, read: (match: RegExpMatchArray) => DumpLine): DumpLine[][] {
  const blocks: DumpLine[][] = [];
  let block: DumpLine[] = [];
  for (const match of text.matchAll(pattern)) {
    const line = read(match);
    const last = block.at(-1);
    if (last && line.start > last.end + 1) {
      blocks.push(block);
      block = [];
    }
    block.push(line);
  }
  if (block.length > 0) blocks.push(block);
  return blocks;
}

/** The lines of each dump whose bytes hold a secret (a line holding any of its bytes), as spans. */
function dumpSpans(text: string, wanted: readonly string[]): [number, number][] {
  // Most text holds no dump: a dump line has a run of hex or of od's 4-wide cells.
  if (!/(?:[0-9a-fA-F]{2} ?){4}|(?: {3}[^ \n]){4}/.test(text)) return [];
  const spans: [number, number][] = [];
  for (const block of [...dumpBlocks(text, OD_CHARACTER_LINE, odCharacterLine), ...dumpBlocks(text, HEX_LINE, hexLine)]) {
    for (const key of ["bytes", "swapped"] as const) {
      const bytes = block.map((line) => line[key]).join("");
      if (!holdsSecret(bytes, wanted)) continue;
      // Found in the block: every line that holds part of a secret goes (inflated, the whole block).
      const lines = linesHolding(block, key, wanted);
      for (const line of lines ?? block) spans.push([line.start, line.end]);
    }
  }
  return spans;
}

/** The block's lines that hold a byte of a wanted secret as it stands in the bytes, or undefined when it is inflated only. */
function linesHolding(block: readonly DumpLine[], key: "bytes" | "swapped", wanted: readonly string[]): DumpLine[] | undefined {
  const bytes = block.map((line) => line[key]).join("");
  const hit = new Set<DumpLine>();
  for (const secret of wanted) {
    for (let at = bytes.indexOf(secret); at !== -1; at = bytes.indexOf(secret, at + 1)) {
      let offset = 0;
      for (const line of block) {
        const length = line[key].length;
        if (offset < at + secret.length && offset + length > at) hit.add(line);
        offset += length;
      }
    }
  }
  return hit.size > 0 ? [...hit] : undefined;
}

// A gzip stream (it begins 1f 8b 08) in base64 begins `H4sI`, in base32 `D6FQQ`; a zlib stream (78 01, 5e, 9c or da:
// Python's zlib, PHP's gzcompress) `eA`, `eF`, `eJ` or `eN`; wrapped lines are one run.
const GZIP_BASE64 = /H4sI[A-Za-z0-9+/\r\n]*={0,2}/g;
const ZLIB_BASE64 = /(?<![A-Za-z0-9+/])e[AFJN][A-Za-z0-9+/\r\n]{8,}={0,2}/g;
const GZIP_BASE32 = /D6FQ[A-Z2-7\r\n]*=*/g;

/** How a gzip stream in base64 or base32 begins, what its run is made of, and how much padding ends it (as the patterns above read it). */
export const COMPRESSED_RUNS: readonly { opening: string; body: RegExp; padding: number }[] = [
  { opening: "H4sI", body: /[A-Za-z0-9+/\r\n]/, padding: 2 },
  { opening: "D6FQ", body: /[A-Z2-7\r\n]/, padding: Number.POSITIVE_INFINITY },
];

const HEX_DUMP_LINE = new RegExp(`^${HEX_LINE.source.slice(1, -1)}$`);
const OD_DUMP_LINE = new RegExp(`^${OD_CHARACTER_LINE.source.slice(1, -1)}$`);
// The start of a line of hex (an offset, then groups of hex, so far hex digits, colons and spaces alone) or of `od -c`
// (an offset, then cells): more may make it a dump's line.
const HEX_LINE_BEGUN = /^[0-9a-fA-F: ]*$/;
const OD_LINE_BEGUN = /^[0-9a-fA-F]{0,8}(?: {3}[^ \n]| {2}\\[0abtnvfr]| [0-7]{3}| {4})*(?: {1,3}| {2}\\| [0-7]{1,2})?$/;

/** Whether a whole line (without its line break) is one the dumps are read from. */
export function isDumpLine(line: string): boolean {
  return HEX_DUMP_LINE.test(line) || OD_DUMP_LINE.test(line);
}

/** Whether a line begun (no line break yet) is a dump's line, or may become one as more comes. */
export function mayBeDumpLine(begun: string): boolean {
  return HEX_LINE_BEGUN.test(begun) || OD_LINE_BEGUN.test(begun) || isDumpLine(begun);
}

/** Each base64 or base32 run that is a gzip stream inflating to a secret, whole. */
function compressedSpans(text: string, wanted: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  if (text.includes("H4sI"))
    for (const match of text.matchAll(GZIP_BASE64)) {
      const bytes = Buffer.from(match[0].replace(/\s+/g, ""), "base64").toString("latin1");
      if (holdsSecret(bytes, wanted)) spans.push([match.index, match.index + match[0].length]);
    }
  if (/e[AFJN]/.test(text))
    for (const match of text.matchAll(ZLIB_BASE64)) {
      const inflated = inflateZlib(Buffer.from(match[0].replace(/\s+/g, ""), "base64"));
      if (inflated !== undefined && wanted.some((secret) => inflated.includes(secret))) spans.push([match.index, match.index + match[0].length]);
    }
  if (text.includes("D6FQ"))
    for (const match of text.matchAll(GZIP_BASE32)) {
      const bytes = fromBase32(match[0].replace(/\s+/g, "")).toString("latin1");
      if (holdsSecret(bytes, wanted)) spans.push([match.index, match.index + match[0].length]);
    }
  return spans;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** RFC 4648's "extended hex" base32 alphabet (`base32hex`). */
export const BASE32_HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

/** RFC 4648 base32 to bytes (padding and anything else ignored). */
export function fromBase32(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const character of text) {
    const index = BASE32.indexOf(character);
    if (index === -1) continue;
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Buffer.from(bytes);
}

/** RFC 4648 base32 of bytes (in `alphabet`: base32hex's too), without padding. */
export function toBase32(bytes: Buffer, alphabet = BASE32): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
