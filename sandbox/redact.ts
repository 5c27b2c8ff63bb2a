import { secretEnvironmentValues } from "../config.ts";

export const REDACTED = "[REDACTED]";

// Key formats that are secrets wherever they appear (a subset of gitleaks' rules). Each pattern starts with a
// literal prefix, so a scan over a megabyte of tool output stays linear and fast.
const SECRET_PATTERNS: RegExp[] = [
  // PEM private keys, including a block cut off by truncation.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  // Anthropic (sk-ant-api03-…, sk-ant-admin01-…) and OpenAI (sk-proj-…, sk-svcacct-…, legacy sk-…T3BlbkFJ…).
  /\bsk-ant-[A-Za-z0-9_-]{20,}/g,
  /\bsk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}/g,
  /\bsk-[A-Za-z0-9]{20,}T3BlbkFJ[A-Za-z0-9]{20,}/g,
  /\bsk-[A-Za-z0-9]{32,}\b/g,
  // GitHub tokens and fine-grained PATs; GitLab; Hugging Face; Stripe.
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{40,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bhf_[A-Za-z0-9]{30,}/g,
  /\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{16,}/g,
  // AWS access key ids, and secret keys where they are named.
  /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\b/g,
  /\baws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}/gi,
  // Slack tokens and incoming-webhook URLs.
  /\bxox[abposre]-[A-Za-z0-9-]{10,}/g,
  /https:\/\/hooks\.slack\.com\/(?:services|workflows)\/[A-Za-z0-9/_-]{20,}/g,
  // Google API keys and OAuth client secrets.
  /\bAIza[0-9A-Za-z_-]{35}/g,
  /\bGOCSPX-[A-Za-z0-9_-]{20,}/g,
  // JSON Web Tokens: header.payload.signature, the first two base64url of a JSON object.
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
];

// `Authorization: Bearer …` and friends keep their scheme so the reader sees what was there.
const AUTH_HEADER = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{12,}/gi;
// scheme://user:password@host keeps the user and host.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s/@]+)@/gi;
// `API_KEY=…`, `"client_secret": "…"`, `password: …` — a named secret with a value of 8+ characters.
const NAMED_SECRET =
  /\b([A-Za-z0-9_-]*(?:api[_-]?key|secret|token|passwd|password|private[_-]?key|access[_-]?key)["']?\s*[:=]\s*["']?)([^\s"',;]{8,})/gi;

/** Forms a known secret may take in output: as is, base64 at the three byte alignments, URL-encoded. */
function knownSecretForms(secret: string): string[] {
  const forms = [secret];
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) forms.push(encoded);
  for (const shift of [0, 1, 2]) {
    const base64 = Buffer.from("\0".repeat(shift) + secret).toString("base64");
    // Keep only the characters no neighbouring byte can change: skip the ones that mix in the bytes before,
    // and the last one when the final group mixes in the bytes after.
    const start = shift === 0 ? 0 : shift === 1 ? 2 : 3;
    const usable = base64.slice(start).replace(/=+$/, "");
    const trimmed = usable.slice(0, usable.length - ((secret.length + shift) % 3 === 0 ? 0 : 1));
    if (trimmed.length >= 8) forms.push(trimmed);
  }
  return forms;
}

let cachedSecrets: { key: string; forms: string[] } | undefined;

function knownForms(extraSecrets: readonly string[]): string[] {
  const values = [...secretEnvironmentValues(), ...extraSecrets].filter((value) => value.length >= 6);
  const key = values.join("\0");
  if (cachedSecrets?.key !== key) {
    const forms = values.flatMap(knownSecretForms);
    cachedSecrets = { key, forms: [...new Set(forms)].sort((a, b) => b.length - a.length) };
  }
  return cachedSecrets.forms;
}

/**
 * Removes secrets from text before a model, the console, a file or an HTTP client sees it: the values of
 * this process's secret-looking environment variables (and their base64/URL encodings), `extraSecrets`,
 * and common key formats, tokens, private keys, auth headers and credentials in URLs.
 */
export function redact(text: string, extraSecrets: readonly string[] = []): string {
  let result = text;
  for (const secret of knownForms(extraSecrets)) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  for (const pattern of SECRET_PATTERNS) result = result.replace(pattern, REDACTED);
  result = result.replace(AUTH_HEADER, (_match, scheme: string) => `${scheme} ${REDACTED}`);
  result = result.replace(URL_CREDENTIALS, (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  return result.replace(NAMED_SECRET, (match, name: string, value: string) =>
    value.startsWith(REDACTED) || !looksSecret(value) ? match : `${name}${REDACTED}`,
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
