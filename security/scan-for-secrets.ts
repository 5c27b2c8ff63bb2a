import { namesSecret } from "../config/secret-names.ts";
import { SECRET_SHAPES } from "../config/secret-shapes.ts";
import { knownForms, type Secrets } from "./known-secrets.ts";
import { REDACTED, redact } from "./redact.ts";
import { AUTH_HEADER, looksLikeCredential, looksSecret, namedValues, URL_CREDENTIALS } from "./secret-patterns.ts";

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
export function looksRandom(name: string, value: string): boolean {
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

/** The kind `scanForSecrets` names a random-looking value by: a net for keys of no known format, so it can be wrong. */
export const RANDOM_VALUE_KIND = "a random-looking value in KEY=value form";

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
    kinds.add(RANDOM_VALUE_KIND);
    return `${name}${separator}${REDACTED}`;
  });
  // A known secret seen only through encodings or invisible characters: redact found it, the plain search did not.
  if (kinds.size === 0 && redacted !== text) kinds.add("a key org itself uses (from the environment or the config)");
  return { kinds: [...kinds], redacted };
}
