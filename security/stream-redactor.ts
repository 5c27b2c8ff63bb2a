import { knownSecretFormsOf, redact, secretSpans } from "./redact.ts";

// How the redactor's patterns begin, and the names that make a value secret: a stream that ends with the
// start of one of these may be in the middle of a secret.
const OPENINGS = [
  "sk-", "sk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "hf_", "AKIA", "ASIA", "ABIA",
  "ACCA", "A3T", "xox", "AIza", "GOCSPX-", "eyJ", "-----BEGIN", "https://hooks.slack.com/", "Bearer", "Basic", "Token",
  "aws_secret", "api_key", "api-key", "apikey", "secret", "token", "passwd", "password", "private_key", "access_key",
  // URL schemes that may carry user:password@ credentials.
  "http://", "https://", "ftp://", "ssh://", "git://", "ws://", "wss://", "postgres://", "postgresql://", "mysql://",
  "mongodb://", "mongodb+srv://", "redis://", "rediss://", "amqp://", "amqps://",
];
// What may follow the end of the stream so far: a pattern that then matches past the end is a secret in progress.
const VALUE = "A1b2C3d4E5f6G7h8".repeat(5);
// Where a pattern match that is still growing could have started: no secret format is longer than this.
const WINDOW = 512;
const PATTERN_HINT = /sk-|sk_|rk_|gh[pousr]_|github_pat_|glpat-|hf_|akia|asia|abia|acca|a3t|xox|aiza|gocspx-|eyj|hooks\.slack|bearer|basic|token|key|secret|passw|:\/\//;
const CONTINUATIONS = [VALUE, ` ${VALUE}`, `=${VALUE}`, `: ${VALUE}`, `${VALUE}@host`, `:${VALUE}@host`, `${VALUE}:${VALUE}@host`, `.${VALUE}.${VALUE}`];

/**
 * Redacts text that arrives in pieces (a streamed reply) before any of it is shown. A secret split across
 * pieces matches nowhere piecewise, so the tail that could still become one is held back: the start of a
 * known secret, a pattern's opening, a match that more text would extend, a `-----BEGIN` block without its
 * end. What is released is redacted exactly as the whole text would be; `flush` releases the rest.
 */
export class StreamRedactor {
  #pending = "";

  constructor(readonly secrets: readonly string[] = []) {}

  /** Takes the next piece; returns what may be shown now (possibly ""), redacted. */
  push(text: string): string {
    this.#pending += text;
    const cut = this.#safeEnd();
    if (cut <= 0) return "";
    const head = this.#pending.slice(0, cut);
    const tail = this.#pending.slice(cut);
    const released = redact(head, this.secrets);
    // A match that spans the cut redacts differently whole: hold on until it does not.
    if (released + redact(tail, this.secrets) !== redact(this.#pending, this.secrets)) return "";
    this.#pending = tail;
    return released;
  }

  /** Everything still held, redacted; the stream is over. */
  flush(): string {
    const rest = redact(this.#pending, this.secrets);
    this.#pending = "";
    return rest;
  }

  /** How much of the pending text no later piece can turn into (part of) a secret. */
  #safeEnd(): number {
    const text = this.#pending;
    let end = text.length;
    const lowered = text.toLowerCase();
    for (const opening of OPENINGS) end = Math.min(end, text.length - longestStartAtEnd(lowered, opening.toLowerCase()));
    for (const form of knownSecretFormsOf(this.secrets)) end = Math.min(end, text.length - longestStartAtEnd(text, form));
    const begin = text.lastIndexOf("-----BEGIN");
    if (begin !== -1 && text.indexOf("-----END", begin) === -1) end = Math.min(end, begin);
    // A pattern that more text could extend has its opening (a prefix, a keyword, "://") somewhere in the text.
    const window = Math.max(0, text.length - WINDOW);
    if (!PATTERN_HINT.test(lowered.slice(window))) return end;
    const recent = text.slice(window);
    for (const continuation of CONTINUATIONS) {
      for (const [start, stop] of secretSpans(recent + continuation, this.secrets)) {
        if (stop > recent.length && window + start < end) end = window + start;
      }
    }
    return end;
  }
}

/** The length of the longest proper start of `word` that `text` ends with (0 when none). */
function longestStartAtEnd(text: string, word: string): number {
  for (let length = Math.min(word.length - 1, text.length); length > 0; length -= 1) {
    if (text.endsWith(word.slice(0, length))) return length;
  }
  return 0;
}
