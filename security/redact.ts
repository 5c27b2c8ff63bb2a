import { secretEnvironmentValues } from "../config/environment.ts";
import { holdsSecretStem, namesSecret } from "../config/secret-names.ts";
import { SECRET_SHAPES } from "../config/secret-shapes.ts";
import { renderedSecretSpans, type SeparatedPattern, separatedPattern, toBase32 } from "./secret-renderings.ts";

export const REDACTED = "[REDACTED]";

// Key formats that are secrets wherever they appear: the one list config/secret-shapes.ts keeps.
const SECRET_PATTERNS: RegExp[] = SECRET_SHAPES.map((shape) => shape.pattern);

// `Authorization: Bearer …` and friends keep their scheme so the reader sees what was there.
const AUTH_HEADER = /\b(Bearer|Basic|Token)\s+([A-Za-z0-9._~+/=-]{12,})/gi;

/** A value after `Bearer`/`Basic`/`Token` that is a credential, not a word ("basic understanding"): it has a digit, or mixes cases. */
function looksLikeCredential(value: string): boolean {
  return /\d/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value) && value.length >= 16);
}
// scheme://user:password@host keeps the user and host. A match starts only where a run of scheme characters
// starts (not at each `\b` inside it), so a long run like `a-a-a-…` costs linear time, not quadratic.
const URL_CREDENTIALS = /(?<![a-z0-9+.-])([0-9+.-]*[a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s/@]+)@/gi;
// `API_KEY=…`, `"client_secret": "…"`, `password: …` — a name (`namesSecret` decides which) with a value of 8+
// characters. The name is the run of name characters before the separator, its last 64 when it is longer (so a match
// tries at most 64 characters from any start: linear time over `a-a-a-…`, and a stream need hold no more of a name).
// The value is only looked at, so the next name is found inside it (`said: token=…`: `said` does not hide `token`).
const NAMED_VALUE = /([A-Za-z0-9_-]{1,64})["']?\s*[:=]\s*["']?(?=([^\s"',;]{8,}))/g;
/** The most of a name the redactor reads before a value: the last 64 characters of a longer one. */
export const MAX_SECRET_NAME = 64;

/** The values in `text` after a name that says they are secret (whatever they look like): where each starts, and it. */
function namedValues(text: string): { name: number; at: number; value: string }[] {
  // A text without one of the names' stems holds no named secret: most text is not scanned for one.
  if (!holdsSecretStem(text)) return [];
  const found: { name: number; at: number; value: string }[] = [];
  for (const match of text.matchAll(NAMED_VALUE)) {
    if (namesSecret(match[1] ?? "")) found.push({ name: match.index, at: match.index + match[0].length, value: match[2] ?? "" });
  }
  return found;
}

/** The shortest secret the redactor looks for, and the shortest form of one: shorter, they are words of any text. */
const SHORTEST_SECRET = 6;

/**
 * Forms a known secret may take as a reader writes it: as is, reversed (`rev`), rot13 (`tr A-Za-z N-ZA-Mn-za-m`), in one
 * case (`tr a-z A-Z`), URL-encoded and JSON-escaped (also with `\/`, as PHP and Java write it).
 */
function writtenForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return [
    secret,
    [...secret].reverse().join(""),
    rot13(secret),
    secret.toUpperCase(),
    secret.toLowerCase(),
    encodeURIComponent(secret),
    json,
    json.replaceAll("/", "\\/"),
  ];
}

/**
 * Forms of a known secret's bytes encoded: hex (either case), base64 at the three byte alignments and base32 at the
 * five. Each is random-looking, so it is looked for across line breaks and spaces (wrapped, dumped) at any length.
 */
function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret);
  const hex = bytes.toString("hex");
  const forms = [hex, hex.toUpperCase()];
  for (const shift of [0, 1, 2, 3, 4]) {
    // Only the characters made of the secret's bits alone: past the shift's bits, and not the last one it shares.
    forms.push(toBase32(Buffer.concat([Buffer.alloc(shift), bytes])).slice(Math.ceil((8 * shift) / 5), Math.floor((8 * (shift + bytes.length)) / 5)));
  }
  for (const shift of [0, 1, 2]) {
    const base64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    // Keep only the characters no neighbouring byte can change: skip the ones that mix in the bytes before,
    // and the last one when the final group mixes in the bytes after.
    const start = shift === 0 ? 0 : shift === 1 ? 2 : 3;
    const usable = base64.slice(start).replace(/=+$/, "");
    forms.push(usable.slice(0, usable.length - ((bytes.length + shift) % 3 === 0 ? 0 : 1)));
  }
  return forms;
}

/** Letters turned 13 places round the alphabet, the rest as they are. */
function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (letter) => {
    const base = letter <= "Z" ? 65 : 97;
    return String.fromCharCode(((letter.charCodeAt(0) - base + 13) % 26) + base);
  });
}

// Terminal escape sequences: CSI, OSC (ended by BEL, ST, a line break or 256 characters), and two-byte ones
// such as ESC ( B, which `tput sgr0` writes.
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]{0,256}(?:\x07|\x1b\\)?|[ -/]*[0-~])?/y;
// Beyond ASCII: whitespace (line and paragraph separators, no-break spaces), format characters (zero-width
// spaces and joiners, direction marks, soft hyphens) and the U+FFFD a control byte became.
const INVISIBLE_BEYOND_ASCII = /[\s\p{Cf}\uFFFD]/u;
const SPACE_BEYOND_ASCII = /\s/u;
// Only forms at least this long are matched across whitespace: shorter ones would join ordinary words
// ("hunter 22" is not the secret "hunter22"). Dumps that space or wrap a secret make long forms anyway.
const SHORTEST_SPACED_FORM = 16;

/**
 * What may sit inside a printed secret without hiding it from a reader: spaces, tabs and line breaks (base64
 * wraps at 76 columns, hex dumps space their bytes, YAML indents), control bytes and the characters above.
 */
function isInvisible(code: number): boolean {
  if (code < 0x80) return code <= 0x20 || code === 0x7f;
  return INVISIBLE_BEYOND_ASCII.test(String.fromCharCode(code));
}

function isSpace(code: number): boolean {
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return SPACE_BEYOND_ASCII.test(String.fromCharCode(code));
}

type View = { text: string; origin: Int32Array; spaced: Uint8Array };

/**
 * The text without invisible characters: `origin[i]` is where the view's i-th character stands in `text`,
 * `spaced[i]` whether whitespace was taken out just before it. With `sequences`, whole escape sequences go;
 * without, only the ESC byte, so a stray ESC cannot hide the character after it. Undefined when nothing
 * was taken out.
 */
function invisibleFreeView(text: string, sequences: boolean): View | undefined {
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
function originOf(view: View, index: number): number {
  const origin = view.origin[index];
  if (origin === undefined || index >= view.text.length)
    throw new Error(`index ${index} is outside the invisible-free view (${view.text.length} characters)`);
  return origin;
}

/** Redacts known forms that only match once invisible characters are taken out, keeping the rest as it was; `encoded` ones at any length. */
function redactAcrossInvisible(text: string, forms: readonly string[], encoded: ReadonlySet<string>): string {
  return redactSpans(text, acrossInvisibleSpans(text, forms, encoded));
}

/** Where known forms match once invisible characters are taken out (the spans `redactAcrossInvisible` hides). */
function acrossInvisibleSpans(text: string, forms: readonly string[], encoded: ReadonlySet<string>): [number, number][] {
  const spans: [number, number][] = [];
  for (const sequences of [true, false]) {
    const view = invisibleFreeView(text, sequences);
    if (!view) return spans;
    for (const form of forms) {
      for (let at = view.text.indexOf(form); at !== -1; at = view.text.indexOf(form, at + form.length)) {
        if (form.length < SHORTEST_SPACED_FORM && !encoded.has(form) && view.spaced.subarray(at + 1, at + form.length).includes(1)) continue;
        spans.push([originOf(view, at), originOf(view, at + form.length - 1) + 1]);
      }
    }
  }
  return spans;
}

function redactSpans(text: string, spans: [number, number][]): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0]);
  let result = "";
  let cursor = 0;
  for (const [from, to] of spans) {
    if (to <= cursor) continue;
    result += `${text.slice(cursor, Math.max(cursor, from))}${REDACTED}`;
    cursor = to;
  }
  return result + text.slice(cursor);
}

// The line OutputCapture puts where it cut the middle of a stream.
const CUT_MARKER = /\n\[… \d+ bytes of \w+ cut …\]\n/g;
// A piece shorter than this at a cut tells too little of a secret to be worth hiding the text around it.
const SHORTEST_PIECE = 8;

/**
 * Where the middle of an output was cut, the head may end with the start of a secret and the tail begin with
 * its end, each too short for a whole form to match; together they would give it away. Both pieces go.
 */
function redactPiecesAtCuts(text: string, forms: readonly string[]): string {
  return redactSpans(text, piecesAtCutsSpans(text, forms));
}

/** The spans `redactPiecesAtCuts` hides. */
function piecesAtCutsSpans(text: string, forms: readonly string[]): [number, number][] {
  const spans: [number, number][] = [];
  for (const match of text.matchAll(CUT_MARKER)) {
    const before = match.index;
    const after = match.index + match[0].length;
    let longestBefore = 0;
    let longestAfter = 0;
    for (const form of forms) {
      for (let length = form.length - 1; length >= SHORTEST_PIECE && length > longestBefore; length -= 1) {
        if (text.startsWith(form.slice(0, length), before - length)) longestBefore = length;
      }
      for (let length = form.length - 1; length >= SHORTEST_PIECE && length > longestAfter; length -= 1) {
        if (text.startsWith(form.slice(form.length - length), after)) longestAfter = length;
      }
    }
    if (longestBefore > 0) spans.push([before - longestBefore, before]);
    if (longestAfter > 0) spans.push([after, after + longestAfter]);
  }
  return spans;
}

/**
 * The secrets a redactor looks for, the environment's and the given ones, worked out once: their values, their forms
 * (longest first), the encoded ones among them, their separated patterns. Made where the secrets are known (a room, a
 * stream, a log) and handed to each call; a call given a plain list works them out for that call alone.
 */
export class KnownSecrets {
  readonly values: readonly string[];
  readonly forms: readonly string[];
  readonly encoded: ReadonlySet<string>;
  readonly separated: readonly SeparatedPattern[];

  constructor(extraSecrets: readonly string[] = []) {
    this.values = [...new Set([...secretEnvironmentValues(), ...extraSecrets].filter((value) => value.length >= SHORTEST_SECRET))];
    // A base64 or base32 piece of a short secret can be shorter than the secret: shorter still, it would match ordinary text.
    this.encoded = new Set(this.values.flatMap(encodedForms).filter((form) => form.length >= SHORTEST_SECRET));
    this.forms = [...new Set([...this.values.flatMap(writtenForms), ...this.encoded])].sort((a, b) => b.length - a.length);
    this.separated = this.values.map(separatedPattern);
  }

  #starts: FormStarts | undefined;

  /** Every proper start of a form, made when a stream first asks. */
  get starts(): FormStarts {
    this.#starts ??= {
      set: new Set(this.forms.flatMap((form) => Array.from({ length: form.length - 1 }, (_, length) => form.slice(0, length + 1)))),
      first: new Set(this.forms.map((form) => form.charCodeAt(0))),
      longest: Math.max(...this.forms.map((form) => form.length)),
    };
    return this.#starts;
  }
}

// What a stream that ends in the middle of a cut marker may be about to show: the marker's words, one piece at a time.
const CUT_MARKER_PARTS = ["\\n", "\\[", "…", " ", "\\d+", " bytes of ", "\\w+", " cut ", "…", "\\]"];
// A text's end that is a cut marker begun but not finished (any start of it, the whole marker but its last line break).
const CUT_MARKER_BEGUN = new RegExp(
  `${CUT_MARKER_PARTS.reduceRight((rest, part) => {
    const pieces = part.startsWith("\\") ? [part] : [...part].map((character) => character.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return pieces.reduceRight((inner, piece) => `${piece}(?:${inner})?`, rest);
  }, "")}$`,
);
/** How far back from a text's end a stream looks for a form spread over invisible characters, per character of the longest form. */
const SPREAD_PER_CHARACTER = 8;

/** The proper starts of a set's forms, their first characters, and the longest form's length. */
type FormStarts = { set: Set<string>; first: Set<number>; longest: number };

/** Where the longest end of `text` that starts a form begins, read as written and without invisible characters (with and without escape sequences).
 *
 */
function formStartAtEnd(text: string, starts: FormStarts): number {
  // Only the end that holds the longest form's characters matters: walked back over what a view leaves out.
  let from = text.length;
  for (let visible = 0; from > 0 && visible < starts.longest; from -= 1) if (!isInvisible(text.charCodeAt(from - 1))) visible += 1;
  const lastEscape = text.lastIndexOf("\x1b");
  // An escape sequence (at most 260 characters) whose body the walk counted as visible.
  if (lastEscape !== -1 && lastEscape > from - 260) from = Math.max(0, Math.min(from, lastEscape) - starts.longest - 260);
  const region = text.slice(from);
  const views = [undefined, invisibleFreeView(region, true), lastEscape === -1 ? undefined : invisibleFreeView(region, false)];
  let start = text.length;
  for (const [index, view] of views.entries()) {
    if (index > 0 && !view) continue;
    const visible = view?.text ?? region;
    for (let length = Math.min(starts.longest - 1, visible.length); length > 0; length -= 1) {
      const at = visible.length - length;
      if (!starts.first.has(visible.charCodeAt(at)) || !starts.set.has(visible.slice(at))) continue;
      start = Math.min(start, from + (view ? originOf(view, at) : at));
      break;
    }
  }
  return start;
}

/**
 * Where a known secret's form may have begun in `text` that more text could still finish, as the whole-text redactor
 * reads forms: as written, spread over invisible characters and escape sequences (a start of a form at the end of the
 * text read without them), an escape sequence still open at the end (it may swallow what follows), and the pieces on
 * either side of an output cut (a form's start before a cut marker that is still arriving, a form's end after a whole
 * one). The index from which a stream holds its text back; `text.length` when there is none.
 */
export function unfinishedFormStart(text: string, secrets: Secrets = []): number {
  const known = knownSecrets(secrets);
  if (known.forms.length === 0 || text === "") return text.length;
  const starts = known.starts;
  const { set, longest } = starts;
  const from = Math.max(0, text.length - (SPREAD_PER_CHARACTER * longest + 512));
  const tail = text.slice(from);
  let hold = from + formStartAtEnd(tail, starts);
  // An escape sequence begun near the end may yet swallow what follows it: held, with a form's start just before it.
  const lastEscape = tail.lastIndexOf("\x1b");
  if (lastEscape !== -1 && tail.length - lastEscape < 260 && !tail.includes("\n", lastEscape))
    hold = Math.min(hold, from + lastEscape, from + formStartAtEnd(tail.slice(0, lastEscape), starts));
  // A piece of a form before a cut marker still arriving is hidden once the marker is whole.
  const marker = CUT_MARKER_BEGUN.exec(tail);
  for (let length = Math.min(longest - 1, marker?.index ?? 0); marker && length >= SHORTEST_PIECE; length -= 1) {
    if (!set.has(tail.slice(marker.index - length, marker.index))) continue;
    hold = Math.min(hold, from + marker.index - length);
    break;
  }
  // A piece of a form's end after a whole cut marker is hidden as it reads after the marker: held with the marker.
  const last = [...tail.matchAll(CUT_MARKER)].at(-1);
  const piece = last ? tail.slice(last.index + last[0].length) : undefined;
  if (last && piece !== undefined && piece.length < longest && known.forms.some((form) => form.indexOf(piece, 1) !== -1))
    hold = Math.min(hold, from + last.index);
  return hold;
}

/** The secrets a redaction looks for: worked out once (`KnownSecrets`), or a list of values to add to the environment's. */
export type Secrets = KnownSecrets | readonly string[];

function knownSecrets(secrets: Secrets): KnownSecrets {
  return secrets instanceof KnownSecrets ? secrets : new KnownSecrets(secrets);
}

function knownForms(secrets: Secrets): readonly string[] {
  return knownSecrets(secrets).forms;
}

/**
 * Removes secrets from text before a model, the console, a file or an HTTP client sees it: the values of
 * this process's secret-looking environment variables (and their hex, base64, URL and JSON encodings, also
 * spaced, wrapped across lines or broken up by escape sequences and zero-width characters, and the pieces of
 * one on either side of an output cut), `extraSecrets`,
 * and common key formats, tokens, private keys, auth headers and credentials in URLs.
 */
export function redact(text: string, extraSecrets: Secrets = []): string {
  return redactWithForms(text, knownSecrets(extraSecrets));
}

/** `redact` with the known secrets' forms already worked out (once for a whole value, by `redactValue`). */
function redactWithForms(text: string, known: KnownSecrets): string {
  const { forms } = known;
  let result = text;
  for (const secret of forms) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  if (forms.length > 0) {
    result = redactPiecesAtCuts(redactAcrossInvisible(result, forms, known.encoded), forms);
    result = redactSpans(result, renderedSecretSpans(result, known.values, known.separated));
  }
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, REDACTED);
  result = result.replace(AUTH_HEADER, (match, scheme: string, value: string) => (looksLikeCredential(value) ? `${scheme} ${REDACTED}` : match));
  result = result.replace(URL_CREDENTIALS, (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  const named = namedValues(result).filter(({ value }) => !value.startsWith(REDACTED) && looksSecret(value));
  return redactSpans(
    result,
    named.map(({ at, value }) => [at, at + value.length]),
  );
}

// A named value counts as a secret if it is not a plain word or a code expression: it mixes letters and
// digits, or is long, and is not a call, a path or a placeholder.
function looksSecret(value: string): boolean {
  if (/[()[\]{}<>$]/.test(value) || value.startsWith("/") || /^(?:x+|\*+|\.+|null|none|true|false|undefined)$/i.test(value)) {
    return false;
  }
  return (/[A-Za-z]/.test(value) && /\d/.test(value)) || value.length >= 20;
}

/**
 * Every string inside a JSON-like value redacted, object keys too (a model can put a secret in a key as
 * easily as in a value); the shape stays as it was. The one deep redaction: tool results, room events,
 * approval questions and reply reports all use it.
 */
export function redactValue<Value>(value: Value, secrets: Secrets = []): Value {
  return redactValueWithForms(value, knownSecrets(secrets));
}

function redactValueWithForms<Value>(value: Value, known: KnownSecrets): Value {
  if (typeof value === "string") return redactWithForms(value, known) as Value;
  if (Array.isArray(value)) return value.map((item) => redactValueWithForms(item, known)) as Value;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [redactWithForms(key, known), redactValueWithForms(item, known)])) as Value;
  }
  return value;
}

/**
 * Where in `text` the redactor's patterns and known secrets match, as [start, end) spans (overlapping ones
 * kept). For deciding how much of a stream may be shown yet; `redact` is what hides them.
 */
export function secretSpans(text: string, extraSecrets: Secrets = []): [number, number][] {
  const spans: [number, number][] = [];
  for (const form of knownForms(extraSecrets)) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) spans.push([at, at + form.length]);
  }
  for (const pattern of [...SECRET_PATTERNS, URL_CREDENTIALS]) {
    for (const match of text.matchAll(pattern)) spans.push([match.index, match.index + match[0].length]);
  }
  for (const { name, at, value } of namedValues(text)) spans.push([name, at + value.length]);
  for (const match of text.matchAll(AUTH_HEADER)) {
    if (looksLikeCredential(match[2] ?? "")) spans.push([match.index, match.index + match[0].length]);
  }
  return spans;
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

/**
 * Every span of `text` the redactor hides or reads as one, as [start, end): `secretSpans`, and the known secrets' forms
 * across invisible characters, the pieces at output cuts and the renderings (separated characters, dumps, compressed
 * runs). A stream never cuts inside one.
 */
export function hiddenSpans(text: string, secrets: Secrets = []): [number, number][] {
  const known = knownSecrets(secrets);
  const spans = secretSpans(text, known);
  if (known.forms.length === 0) return spans;
  return [
    ...spans,
    ...acrossInvisibleSpans(text, known.forms, known.encoded),
    ...piecesAtCutsSpans(text, known.forms),
    ...renderedSecretSpans(text, known.values, known.separated),
  ];
}

// `NAME=value` or `name: value` with a value that looks random: the inbound guard's net for keys of no known
// format. Only a run of letters and digits of 16+ counts, so model names, paths and versions
// (`qwen2.5-coder-7b`, `hf.co/org/Model-GGUF`) do not.
const ASSIGNMENT = /(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]{0,63})(["']?[ \t]*[:=][ \t]*["']?)([A-Za-z0-9+/_.~=-]{16,512})/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) entropy -= (count / text.length) * Math.log2(count / text.length);
  return entropy;
}

/** Whether an assigned value is a random-looking key: a long mixed run of high entropy that is not words, a hash or an id. */
function looksRandom(name: string, value: string): boolean {
  // A name that says the value is a secret makes even a hex string or a UUID one.
  const secretName = namesSecret(name);
  if (secretName && (UUID.test(value) || /^[0-9a-f]{16,}$/i.test(value))) return true;
  if (UUID.test(value) || value.startsWith("/")) return false;
  const run = (value.match(/[A-Za-z0-9]+/g) ?? []).reduce((longest, piece) => (piece.length > longest.length ? piece : longest), "");
  if (run.length < 16 || !/\d/.test(run) || !/[A-Za-z]/.test(run)) return false;
  // A hex run is a hash (a git commit, a sha256) unless the name says it is a secret.
  if (/^[0-9a-f]+$/i.test(run)) return secretName;
  // Words: a lowercase run of 6+, or two of 4+ (camelCase identifiers, `instruct`, `example`).
  const lowerRuns = run.match(/[a-z]{4,}/g) ?? [];
  if (lowerRuns.some((piece) => piece.length >= 6) || lowerRuns.length >= 2) return false;
  return shannonEntropy(run) >= 0.85 * Math.log2(Math.min(run.length, 64));
}

/** What an inbound scan found: the kinds of secret, and the text with each one redacted. */
export type SecretScan = { kinds: string[]; redacted: string };

/**
 * The inbound credential guard's scan of what a user is about to send: `redact`'s patterns and known secrets,
 * plus random-looking values in `KEY=value` form. `kinds` names what was found ("an OpenAI API key", …),
 * empty when nothing was; `redacted` is the text with each one replaced by `[REDACTED]`.
 */
export function scanForSecrets(text: string, extraSecrets: Secrets = []): SecretScan {
  const kinds = new Set<string>();
  for (const form of knownForms(extraSecrets)) {
    if (text.includes(form)) {
      kinds.add("a key org itself uses (from the environment or the config)");
      break;
    }
  }
  // Each match is named by the first shape that takes it (an sk-proj- key is an OpenAI key, not also "an API key").
  let unnamed = text;
  for (const { kind, pattern } of SECRET_SHAPES) {
    if (unnamed.search(pattern) === -1) continue;
    kinds.add(kind);
    unnamed = unnamed.replace(pattern, REDACTED);
  }
  for (const match of text.matchAll(AUTH_HEADER)) if (looksLikeCredential(match[2] ?? "")) kinds.add("a bearer token");
  if (text.search(URL_CREDENTIALS) !== -1) kinds.add("a password in a URL");
  if (namedValues(text).some(({ value }) => looksSecret(value))) kinds.add("a named secret (password, token, api_key …)");
  let redacted = redact(text, extraSecrets);
  redacted = redacted.replace(ASSIGNMENT, (match, name: string, separator: string, value: string) => {
    if (value.includes(REDACTED) || !looksRandom(name, value)) return match;
    kinds.add("a random-looking value in KEY=value form");
    return `${name}${separator}${REDACTED}`;
  });
  // A known secret seen only through encodings or invisible characters: redact found it, the plain search did not.
  if (kinds.size === 0 && redacted !== text) kinds.add("a key org itself uses (from the environment or the config)");
  return { kinds: [...kinds], redacted };
}
