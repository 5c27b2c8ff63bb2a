// Renderings of a known secret that no fixed form of it matches, each read back into what it renders before the
// secrets are looked for: its characters with one separator between them (`sed 's/./&-/g'`, `fold -w1`, `grep -o .`),
// the bytes of a dump across its lines (`od -c`, `od -t x1`, `od -x`, `hexdump`, `hexdump -C`, `xxd`, `xxd -p`), and a
// gzip stream in base64 or base32 (`gzip -c .env | base64`) or in a dump, inflated. Each gives the spans of the text to
// hide: the separated characters, the dump's lines that hold a secret's bytes, the whole encoded stream.
import { constants, gunzipSync } from "node:zlib";

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
  spans.push(...dumpSpans(text, wanted), ...compressedSpans(text, wanted));
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

/** A gzip stream's bytes inflated as far as they go (a stream cut short gives what it holds), as latin1; undefined when it is none. */
function inflate(bytes: Buffer): string | undefined {
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

// A gzip stream (it begins 1f 8b 08) in base64 begins `H4sI`, in base32 `D6FQQ`; wrapped lines are one run.
const GZIP_BASE64 = /H4sI[A-Za-z0-9+/\r\n]*={0,2}/g;
const GZIP_BASE32 = /D6FQ[A-Z2-7\r\n]*=*/g;

/** Each base64 or base32 run that is a gzip stream inflating to a secret, whole. */
function compressedSpans(text: string, wanted: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  if (text.includes("H4sI"))
    for (const match of text.matchAll(GZIP_BASE64)) {
      const bytes = Buffer.from(match[0].replace(/\s+/g, ""), "base64").toString("latin1");
      if (holdsSecret(bytes, wanted)) spans.push([match.index, match.index + match[0].length]);
    }
  if (text.includes("D6FQ"))
    for (const match of text.matchAll(GZIP_BASE32)) {
      const bytes = fromBase32(match[0].replace(/\s+/g, "")).toString("latin1");
      if (holdsSecret(bytes, wanted)) spans.push([match.index, match.index + match[0].length]);
    }
  return spans;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

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

/** RFC 4648 base32 of bytes, without padding. */
export function toBase32(bytes: Buffer): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(value >> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
