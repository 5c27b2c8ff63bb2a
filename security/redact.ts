import { type KnownSecrets, knownSecrets, type Secrets } from "./known-secrets.ts";
import { AUTH_HEADER, looksLikeCredential, looksSecret, namedValues, SECRET_PATTERNS, URL_CREDENTIALS } from "./secret-patterns.ts";
import { renderedSecretSpans } from "./secret-renderings.ts";
import { acrossInvisibleSpans, piecesAtCutsSpans } from "./secret-spans.ts";

export const REDACTED = "[REDACTED]";

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
    result = redactSpans(result, acrossInvisibleSpans(result, forms, known.encoded));
    result = redactSpans(result, piecesAtCutsSpans(result, forms));
    result = redactSpans(result, renderedSecretSpans(result, known.values, known.separated));
  }
  // A name can itself have a secret's shape (`sk-token_…=value`): the patterns below would redact the name, and the
  // value it names would no longer follow a secret's name. Such a value is hidden first, where it stands.
  const namedFirst = namedValues(result).filter(({ value }) => !value.startsWith(REDACTED) && looksSecret(value));
  // The patterns' matches by where they start: a named value is such a one when a match that starts before its value
  // reaches into its name (one pass, as the values come in order).
  const shapes =
    namedFirst.length === 0
      ? []
      : SECRET_PATTERNS.flatMap((pattern) => [...result.matchAll(pattern)].map((match) => [match.index, match.index + match[0].length] as const));
  shapes.sort((one, other) => one[0] - other[0]);
  let next = 0;
  let reach = -1;
  const namedByShape = namedFirst.filter(({ name, at }) => {
    for (let shape = shapes[next]; shape !== undefined && shape[0] < at; shape = shapes[++next]) reach = Math.max(reach, shape[1]);
    return reach > name;
  });
  result = redactSpans(
    result,
    namedByShape.map(({ at, value }) => [at, at + value.length]),
  );
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, REDACTED);
  result = result.replace(AUTH_HEADER, (match, scheme: string, value: string) => (looksLikeCredential(value) ? `${scheme} ${REDACTED}` : match));
  result = result.replace(URL_CREDENTIALS, (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  const named = namedValues(result).filter(({ value }) => !value.startsWith(REDACTED) && looksSecret(value));
  return redactSpans(
    result,
    named.map(({ at, value }) => [at, at + value.length]),
  );
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

/** `text` with each of `spans` replaced by `[REDACTED]` (taken by their start; a span within one already hidden adds nothing). */
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
