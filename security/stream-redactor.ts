import { holdsSecretStem, SECRET_NAME_STEMS } from "../config/secret-names.ts";
import { SECRET_SHAPES } from "../config/secret-shapes.ts";
import { escapeSequenceSpans } from "./invisible-free-view.ts";
import { KnownSecrets, type Secrets } from "./known-secrets.ts";
import { redact } from "./redact.ts";
import { MAX_SECRET_NAME } from "./secret-patterns.ts";
import { hiddenSpans, secretSpans } from "./secret-spans.ts";
import { unfinishedFormStart } from "./unfinished-form-start.ts";
import { separatedRenderings } from "./secret-renderings.ts";
import { UnfinishedRenderings } from "./unfinished-renderings.ts";

// How the redactor's patterns begin (each token shape's openings, an auth scheme), the stems of every name that makes a
// value secret, and URL schemes: a stream that ends with the start of one of these may be in the middle of a secret.
const SHAPE_OPENINGS = [...new Set(SECRET_SHAPES.flatMap((shape) => shape.openings))];
const OPENINGS = [
  ...SHAPE_OPENINGS,
  "Bearer",
  "Basic",
  "Token",
  ...SECRET_NAME_STEMS,
  // URL schemes that may carry user:password@ credentials.
  "http://",
  "https://",
  "ftp://",
  "ssh://",
  "git://",
  "ws://",
  "wss://",
  "postgres://",
  "postgresql://",
  "mysql://",
  "mongodb://",
  "mongodb+srv://",
  "redis://",
  "rediss://",
  "amqp://",
  "amqps://",
];
// What may follow the end of the stream so far: a pattern that then matches past the end is a secret in progress.
const VALUE = "A1b2C3d4E5f6G7h8".repeat(5);
// Where a pattern match that is still growing could have started: no secret format is longer than this.
const WINDOW = 512;
// Whether a pattern's opening is in the (lowercased) text: a shape's, an auth scheme, a secret's name, a URL.
const PATTERN_HINT = new RegExp(
  [...SHAPE_OPENINGS.map((opening) => opening.toLowerCase()), "bearer", "basic", ...SECRET_NAME_STEMS, "://"]
    .map((opening) => opening.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join("|"),
);
const CONTINUATIONS = [
  VALUE,
  ` ${VALUE}`,
  `=${VALUE}`,
  `: ${VALUE}`,
  `${VALUE}@host`,
  `:${VALUE}@host`,
  `${VALUE}:${VALUE}@host`,
  `.${VALUE}.${VALUE}`,
];

/**
 * Redacts text that arrives in pieces (a streamed reply) before any of it is shown. A secret split across
 * pieces matches nowhere piecewise, so the tail that could still become one is held back: the start of a
 * known secret, a pattern's opening, a match that more text would extend, a `-----BEGIN` block without its
 * end, a name that holds a stem of a secret's name or ends in the start of one. What is released is redacted as the
 * whole text would be. A name let go before a stem arrived is still read whole: the name characters just released
 * (`#context`) are read before what is held, so `API0`, then `compass=…` is judged as `API0compass=…` (a secret's
 * name, where `compass` alone is a plain word), and `don`, then `key=…` as `donkey=…`. `flush` releases the rest.
 */
export class StreamRedactor {
  #pending = "";
  /** Where the held text starts in the stream. */
  #base = 0;
  /** The renderings still arriving (dumps, compressed runs), followed as the stream is read. */
  readonly #renderings = new UnfinishedRenderings();
  /** The run of name characters at the end of what was released (its last MAX_SECRET_NAME): the start of a name still held. */
  #context = "";

  readonly secrets: KnownSecrets;

  /** `secrets`: worked out once for the stream when given as a list. */
  constructor(secrets: Secrets = []) {
    this.secrets = secrets instanceof KnownSecrets ? secrets : new KnownSecrets(secrets);
  }

  /** Takes the next piece; returns what may be shown now (possibly ""), redacted. */
  push(text: string): string {
    this.#pending += text;
    this.#renderings.push(text);
    const pending = this.#pending;
    const { forms, values } = this.secrets;
    // What a known secret's rendering still arriving may take (a form spread over invisible characters, a dump, a
    // compressed run, a piece at an output cut): held until it is whole, read by the same rules as the whole text.
    const unfinished = values.length === 0 ? pending.length : Math.min(unfinishedFormStart(pending, this.secrets), this.#renderingStart());
    if (unfinished <= 0) return "";
    const lowered = pending.toLowerCase();
    this.#learnForms(forms);
    const separated = separatedRenderings(pending, values);
    // Without the start of a known secret or any pattern's opening in it, and no whole rendering of a known secret with
    // its characters separated, nothing in the text is (part of) a secret but what the renderings' rules find whole.
    if (!PATTERN_HINT.test(lowered) && !this.#formStartIn(pending) && separated.whole === pending.length) {
      const held = Math.max(longestEndIn(lowered, OPENING_STARTS, LONGEST_OPENING), longestEndIn(pending, this.#formStarts, this.#longestForm));
      let cut = Math.min(pending.length - held, nameInProgress(lowered), separated.cutShort, unfinished);
      if (values.length > 0) {
        cut = this.#outsideMatches(pending, cut);
        // A whole rendering of a known secret (a dump, a compressed run) in what goes: shown as the whole text shows it.
        if (redact(pending.slice(0, cut), this.secrets) !== pending.slice(0, cut)) return this.#releaseUpTo(cut);
      }
      this.#pending = pending.slice(cut);
      this.#base += cut;
      return this.#release(pending.slice(0, cut));
    }
    return this.#releaseUpTo(Math.min(this.#safeEnd(lowered, separated.cutShort), unfinished));
  }

  /** Shows the held text up to `cut`, redacted, unless a match across the cut redacts it otherwise whole: then it waits. */
  #releaseUpTo(end: number): string {
    const pending = this.#pending;
    const cut = this.#outsideMatches(pending, end);
    if (cut <= 0) return "";
    const head = pending.slice(0, cut);
    const tail = pending.slice(cut);
    const released = this.#redact(head, this.#context);
    // A match that spans the cut redacts differently whole: hold on until it does not.
    if (released + this.#redact(tail, nameRunAtEnd(this.#context + released)) !== this.#redact(pending, this.#context)) return "";
    this.#pending = tail;
    this.#base += cut;
    return this.#release(released);
  }

  /** Everything still held, redacted; the stream is over. */
  flush(): string {
    const rest = this.#redact(this.#pending, this.#context);
    this.#base += this.#pending.length;
    this.#pending = "";
    this.#context = "";
    return rest;
  }

  /**
   * `end`, or earlier: never inside a match of the redactor's patterns or a known secret in the held text, nor inside an
   * escape sequence. A match that more text changes the extent of (a token whose run a compressed stream still
   * arriving may take) is then released whole or not at all.
   */
  #outsideMatches(text: string, end: number): number {
    if (end <= 0) return 0;
    const spans = [...hiddenSpans(text, this.secrets), ...escapeSequenceSpans(text)];
    let cut = end;
    for (let moved = true; moved && cut > 0; ) {
      moved = false;
      for (const [start, stop] of spans)
        if (start < cut && cut < stop) {
          cut = start;
          moved = true;
        }
    }
    return cut;
  }

  /** Where in what is held a dump or compressed run still arriving begins (the held text's length when none). */
  #renderingStart(): number {
    const from = this.#renderings.holdFrom();
    return from === undefined ? this.#pending.length : Math.max(0, from - this.#base);
  }

  /** `text` redacted as it reads after `context`, the name characters released just before it. */
  #redact(text: string, context: string): string {
    if (context === "" || !NAME_START.test(text)) return redact(text, this.secrets);
    const read = redact(context + text, this.secrets);
    // What was released cannot change; a match that begins in it would have been held (its opening is held).
    return read.startsWith(context) ? read.slice(context.length) : redact(text, this.secrets);
  }

  /** Text that is shown now (redacted): the name it ends in is what a later name continues. */
  #release(text: string): string {
    this.#context = nameRunAtEnd(this.#context + text);
    return text;
  }

  /** How much of the pending text no later piece can turn into (part of) a secret. */
  #safeEnd(lowered: string, separatedCutShort: number): number {
    const text = this.#pending;
    let end = text.length - longestEndIn(lowered, OPENING_STARTS, LONGEST_OPENING);
    end = Math.min(end, text.length - longestEndIn(text, this.#formStarts, this.#longestForm));
    const begin = text.lastIndexOf("-----BEGIN");
    if (begin !== -1 && text.indexOf("-----END", begin) === -1) end = Math.min(end, begin);
    end = Math.min(end, nameInProgress(lowered), separatedCutShort);
    // A pattern that more text could extend has its opening (a prefix, a keyword, "://") somewhere in the text.
    const window = Math.max(0, text.length - WINDOW);
    if (!PATTERN_HINT.test(lowered.slice(window))) return end;
    // The name released just before the text is read with it (a span that begins there holds the whole text back).
    const context = window === 0 && NAME_START.test(text) ? this.#context : "";
    const recent = context + text.slice(window);
    for (const continuation of CONTINUATIONS) {
      for (const [start, stop] of secretSpans(recent + continuation, this.secrets)) {
        if (stop > recent.length && window + start - context.length < end) end = Math.max(0, window + start - context.length);
      }
    }
    return end;
  }

  #forms: readonly string[] | undefined;
  #formStarts = new Set<string>();
  #formHeads: string[] = [];
  #longestForm = 0;

  #learnForms(forms: readonly string[]): void {
    if (forms === this.#forms) return;
    this.#forms = forms;
    this.#formStarts = new Set(forms.flatMap((form) => Array.from({ length: form.length - 1 }, (_, length) => form.slice(0, length + 1))));
    this.#formHeads = [...new Set(forms.map((form) => form.slice(0, 4)))];
    this.#longestForm = Math.max(0, ...forms.map((form) => form.length));
  }

  /** Whether a known secret may begin in the text (invisible characters, which may space one out, ignored). */
  #formStartIn(text: string): boolean {
    if (this.#formHeads.length === 0) return false;
    const compact = text.replace(INVISIBLE, "");
    return this.#formHeads.some((head) => compact.includes(head));
  }
}

const isSpace = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

const INVISIBLE = /[\s\p{Cf}\x00-\x1f\x7f]/gu;

/** Proper starts of the openings, lowercased: a text ending in one may be beginning a secret. */
const OPENING_STARTS = new Set(
  OPENINGS.flatMap((opening) => Array.from({ length: opening.length - 1 }, (_, length) => opening.slice(0, length + 1).toLowerCase())),
);
const LONGEST_OPENING = Math.max(...OPENINGS.map((opening) => opening.length));

const NAME_CHARACTER = /[a-z0-9_-]/;
const NAME_START = /^[A-Za-z0-9_-]/;
const NAME_RUN_AT_END = new RegExp(`[A-Za-z0-9_-]{1,${MAX_SECRET_NAME}}$`);

/** The run of name characters `text` ends in (its last MAX_SECRET_NAME), as the redactor reads a name before a value. */
function nameRunAtEnd(text: string): string {
  return NAME_RUN_AT_END.exec(text.slice(-MAX_SECRET_NAME))?.[0] ?? "";
}
/** Proper starts of the names' stems: a name that ends in one may be about to hold the stem. */
const STEM_STARTS = new Set(SECRET_NAME_STEMS.flatMap((stem) => Array.from({ length: stem.length - 1 }, (_, length) => stem.slice(0, length + 1))));
const LONGEST_STEM = Math.max(...SECRET_NAME_STEMS.map((stem) => stem.length));

/**
 * Where a name at the end of the (lowercased) text starts when it may be a secret's name still being written: it holds
 * a stem or ends in the start of one. The redactor judges a name whole (its last MAX_SECRET_NAME characters), so none
 * of such a name is let go before it ends: `A_cred` goes on to `A_credentials`, and `entials` alone names nothing. A
 * name let go before its stem came is judged from the stem on, which hides as much or more (`don` then `key=…`).
 */
function nameInProgress(lowered: string): number {
  let start = lowered.length;
  while (start > 0 && lowered.length - start < MAX_SECRET_NAME && NAME_CHARACTER.test(lowered.charAt(start - 1))) start -= 1;
  const name = lowered.slice(start);
  if (name === "" || holdsSecretStem(name) || longestEndIn(name, STEM_STARTS, LONGEST_STEM) > 0) return start;
  return lowered.length;
}

/** The length of the longest end of `text` that is in `starts` (0 when none); none of them holds whitespace. */
function longestEndIn(text: string, starts: ReadonlySet<string>, longest: number): number {
  if (starts.size === 0) return 0;
  let run = 0;
  while (run < longest && run < text.length && !isSpace(text.charCodeAt(text.length - 1 - run))) run += 1;
  for (let length = Math.min(longest - 1, run); length > 0; length -= 1) {
    if (starts.has(text.slice(text.length - length))) return length;
  }
  return 0;
}
