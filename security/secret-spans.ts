import { type Secrets, knownForms, knownSecrets } from "./known-secrets.ts";
import { invisibleFreeView, originOf } from "./invisible-free-view.ts";
import { AUTH_HEADER, looksLikeCredential, namedValues, SECRET_PATTERNS, URL_CREDENTIALS } from "./secret-patterns.ts";
import { renderedSecretSpans } from "./secret-renderings.ts";

// Only forms at least this long are matched across whitespace: shorter ones would join ordinary words
// ("hunter 22" is not the secret "hunter22"). Dumps that space or wrap a secret make long forms anyway.
const SHORTEST_SPACED_FORM = 16;

/** Where known forms match once invisible characters are taken out; `encoded` ones at any length. */
export function acrossInvisibleSpans(text: string, forms: readonly string[], encoded: ReadonlySet<string>): [number, number][] {
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

// The line OutputCapture puts where it cut the middle of a stream.
export const CUT_MARKER = /\n\[… \d+ bytes of \w+ cut …\]\n/g;
// A piece shorter than this at a cut tells too little of a secret to be worth hiding the text around it.
export const SHORTEST_PIECE = 8;

/**
 * Where the middle of an output was cut, the head may end with the start of a secret and the tail begin with
 * its end, each too short for a whole form to match; together they would give it away: the spans of both pieces.
 */
export function piecesAtCutsSpans(text: string, forms: readonly string[]): [number, number][] {
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
