import { holdsSecretStem, namesSecret } from "../config/secret-names.ts";
import { SECRET_SHAPES } from "../config/secret-shapes.ts";

// Key formats that are secrets wherever they appear: the one list config/secret-shapes.ts keeps.
export const SECRET_PATTERNS: RegExp[] = SECRET_SHAPES.map((shape) => shape.pattern);

// `Authorization: Bearer …` and friends keep their scheme so the reader sees what was there.
export const AUTH_HEADER = /\b(Bearer|Basic|Token)\s+([A-Za-z0-9._~+/=-]{12,})/gi;

/** A value after `Bearer`/`Basic`/`Token` that is a credential, not a word ("basic understanding"): it has a digit, or mixes cases. */
export function looksLikeCredential(value: string): boolean {
  return /\d/.test(value) || (/[a-z]/.test(value) && /[A-Z]/.test(value) && value.length >= 16);
}
// scheme://user:password@host keeps the user and host. A match starts only where a run of scheme characters
// starts (not at each `\b` inside it), so a long run like `a-a-a-…` costs linear time, not quadratic.
export const URL_CREDENTIALS = /(?<![a-z0-9+.-])([0-9+.-]*[a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s/@]+)@/gi;
// `API_KEY=…`, `"client_secret": "…"`, `password: …` — a name (`namesSecret` decides which) with a value of 8+
// characters. The name is the run of name characters before the separator, its last 64 when it is longer (so a match
// tries at most 64 characters from any start: linear time over `a-a-a-…`, and a stream need hold no more of a name).
// The value is only looked at, so the next name is found inside it (`said: token=…`: `said` does not hide `token`).
const NAMED_VALUE = /([A-Za-z0-9_-]{1,64})["']?\s*[:=]\s*["']?(?=([^\s"',;]{8,}))/g;
/** The most of a name the redactor reads before a value: the last 64 characters of a longer one. */
export const MAX_SECRET_NAME = 64;

/** The values in `text` after a name that says they are secret (whatever they look like): where each starts, and it. */
export function namedValues(text: string): { name: number; at: number; value: string }[] {
  // A text without one of the names' stems holds no named secret: most text is not scanned for one.
  if (!holdsSecretStem(text)) return [];
  const found: { name: number; at: number; value: string }[] = [];
  for (const match of text.matchAll(NAMED_VALUE)) {
    if (namesSecret(match[1] ?? "")) found.push({ name: match.index, at: match.index + match[0].length, value: match[2] ?? "" });
  }
  return found;
}

// A named value counts as a secret if it is not a plain word or a code expression: it mixes letters and
// digits, or is long, and is not a call, a path or a placeholder.
export function looksSecret(value: string): boolean {
  if (/[()[\]{}<>$]/.test(value) || value.startsWith("/") || /^(?:x+|\*+|\.+|null|none|true|false|undefined)$/i.test(value)) {
    return false;
  }
  return (/[A-Za-z]/.test(value) && /\d/.test(value)) || value.length >= 20;
}
