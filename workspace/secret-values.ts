import { basename, join } from "node:path";
import { namesSecret } from "../config/secret-names.ts";
import { urlCredentials } from "../llm/server-url.ts";
import { type NamedSecret, sentAsSecret } from "../security/named-secret.ts";
import { readFileNoFollow } from "./change-set.ts";
import { gitConfigCredentials, topGitConfigs } from "./git-config-covers.ts";
import { SecretFileScan } from "./secret-files.ts";
import { TreeTooLargeError } from "./tree-snapshot.ts";
import type { WorkspaceCopies } from "./workspace-copies.ts";

// The views hide the workspace's secret files, but their values can still reach the agents another way: a `.env`
// committed once is in `.git`'s objects (`git show HEAD:.env | base64`), a token in a remote's URL is in a reflog. So
// the values those files hold, and the credentials of the workspace's git configs, join the room's redaction secrets:
// the redactor then hides them in every form it knows (as written, encoded, reversed) wherever they turn up.

/** Bytes of one secret file read at most, and secret files read at most. */
const MAX_FILE_BYTES = 64 * 1024;
const MAX_FILES = 256;

// `KEY=value`, `export KEY=value`, `key = "value"`, `//host/:_authToken=value`; else `key: value`, `"key": "value",`.
const ASSIGNMENT = [
  /^\s*(?:export\s+)?["']?([A-Za-z_/][^\s="']*)["']?\s*=\s*(.*?)\s*$/,
  /^\s*["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*:\s*(.*?)\s*,?\s*$/,
];
// The body of a PEM block: each line is the key's own base64, which `base64` of the file would encode again.
const PEM_BODY_LINE = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/**
 * The values the secret files of a workspace hold and the credentials of its git configs, for the redactor (each at
 * least 6 characters, as it takes them). The files are those the read view hides (`sandbox.secretPaths`, found by the
 * same scan, kept by `workspaceCopies` when given), each read without following a link, bounded; none when the
 * workspace is too large to scan.
 */
export function workspaceSecretValues(workspaceDir: string, secretPaths: readonly string[], workspaceCopies?: WorkspaceCopies): string[] {
  return [...new Set(workspaceSecretEntries(workspaceDir, secretPaths, workspaceCopies).map(({ value }) => value))];
}

/**
 * The secrets of a room's config joined by what the workspace's secret files and git configs hold: `redacted`, every
 * value (a value hidden from the agents' views may still come back another way, as a committed .env through
 * `git show`); `outbound`, what web_request, web_fetch and the browser's `type` check a request against
 * (`sentAsSecret` decides which of the workspace's stop it).
 */
export function roomSecrets(
  configured: readonly string[],
  workspaceDir: string,
  secretPaths: readonly string[],
  workspaceCopies?: WorkspaceCopies,
): { redacted: string[]; outbound: (string | NamedSecret)[] } {
  const entries = workspaceSecretEntries(workspaceDir, secretPaths, workspaceCopies);
  return { redacted: [...new Set([...configured, ...entries.map(({ value }) => value)])], outbound: [...configured, ...entries] };
}

/**
 * `workspaceSecretValues` with where each value stands (`DB_PASSWORD in .env`) and whether it is one the outbound scan
 * of web_request and web_fetch refuses (`sentAsSecret`: a secret's name, a random look, a credential by its place).
 */
export function workspaceSecretEntries(workspaceDir: string, secretPaths: readonly string[], workspaceCopies?: WorkspaceCopies): NamedSecret[] {
  let found: { files: string[]; gitConfigs: string[] };
  try {
    found = (workspaceCopies?.secretScan(workspaceDir, secretPaths) ?? new SecretFileScan(workspaceDir, secretPaths)).scan();
  } catch (error) {
    if (error instanceof TreeTooLargeError) return [];
    throw error;
  }
  const entries: NamedSecret[] = [];
  for (const path of found.files.slice(0, MAX_FILES)) {
    const bytes = readFileNoFollow(join(workspaceDir, path), MAX_FILE_BYTES);
    if (bytes !== undefined) entries.push(...secretFileEntries(basename(path), Buffer.from(bytes).toString("utf8"), path));
  }
  for (const value of gitConfigCredentials(workspaceDir, [...topGitConfigs(workspaceDir), ...found.gitConfigs]))
    entries.push({ value, name: "a credential in a git config", outbound: true });
  const seen = new Set<string>();
  return entries
    .map((entry) => ({ ...entry, value: entry.value.trim() }))
    .filter(({ value }) => value.length >= 6 && !seen.has(value) && Boolean(seen.add(value)));
}

/**
 * What one secret file holds that is secret, by its name: a `.netrc`'s passwords and accounts, a `.git-credentials`'
 * URL credentials, and for any other (`.env*`, `.npmrc`, a config of secrets) the value of every `KEY=value` line,
 * whatever its name (`STRIPE_LIVE`, `ADMIN_LOGIN`), but a common setting (`commonSetting`) under a name that says
 * nothing of a secret (an `.npmrc`'s base64 `_auth` and `_password` decoded too), every URL's credentials, a PEM
 * block's lines, and a file of one line whole.
 */
export function secretFileValues(name: string, text: string): string[] {
  return secretFileEntries(name, text).map(({ value }) => value);
}

/**
 * `secretFileValues` with where each value stands (`API_KEY in .env`; a file's credential without a key, `a password
 * in .netrc`) and whether the outbound scan refuses it: a credential by its place always, a `KEY=value` line's value
 * when its key names a secret or it looks random (`sentAsSecret`). `OPENAI_MODEL=gpt-4o-mini` stays hidden in what
 * is shown, and a request may still name the model.
 */
export function secretFileEntries(name: string, text: string, path = name): NamedSecret[] {
  const entries: NamedSecret[] = [];
  const credential = (value: string, what: string) => entries.push({ value, name: `${what} in ${path}`, outbound: true });
  for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi))
    for (const value of urlCredentials(match[0])) credential(value, "a URL's credentials");
  if (/^[._]netrc$/i.test(name)) {
    const words = text.split(/\s+/);
    words.forEach((word, index) => {
      if ((word === "password" || word === "account") && words[index + 1]) credential(words[index + 1] ?? "", `a ${word}`);
    });
    return entries;
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "" && !/^\s*[#;]/.test(line));
  if (lines.length === 1 && assignmentIn(lines[0] ?? "") === undefined) credential(lines[0] ?? "", "the file's one line");
  for (const line of lines) {
    if (PEM_BODY_LINE.test(line.trim())) credential(line.trim(), "a key's line");
    const assignment = assignmentIn(line);
    if (!assignment) continue;
    const { key } = assignment;
    const value = unquoted(assignment.value);
    if (!namesSecret(key) && commonSetting(value)) continue;
    entries.push({ value, name: `${key} in ${path}`, outbound: sentAsSecret(key, value) });
    if (/(?:^|[:_])_?(?:auth|password)$/i.test(key)) for (const decoded of decodedPair(value)) credential(decoded, `${key} decoded`);
  }
  return entries;
}

/** A line's key and value, when it assigns one. */
function assignmentIn(line: string): { key: string; value: string } | undefined {
  for (const pattern of ASSIGNMENT) {
    const match = pattern.exec(line);
    if (match) return { key: match[1] ?? "", value: match[2] ?? "" };
  }
  return undefined;
}

/** A value without its quotes, or without a trailing ` # comment` when unquoted. */
function unquoted(value: string): string {
  const quoted = /^(["'])(.*?)\1/s.exec(value);
  if (quoted) return quoted[2] ?? "";
  return value.replace(/\s+#.*$/, "");
}

// Values every project's settings hold: switches, environments, log levels. Hidden, they would hide ordinary words.
const COMMON_WORD = new RegExp(
  `^(?:true|false|yes|no|on|off|null|none|nil|undefined|enabled?|disabled?|development|production|staging|` +
    `testing|test|local|localhost|debug|info|warn|warning|error|trace|verbose|silent)$`,
  "i",
);

/**
 * Whether a value of a secret file is a common setting, no secret though it sits in a secret file: shorter than the
 * redactor's floor of 6 characters (`1`, `dev`), a switch, environment or log level (`true`, `production`), a version
 * or address (`1.2.3`, `10.0.0.5:5432`; but not six digits or more, `4111111111111111`, `48213975`), a local path
 * (`/srv/app`, `./data`), or a server's bare address (`https://registry.npmjs.org/`: a path, a query or a user may
 * carry a token, and then it is a secret).
 */
function commonSetting(value: string): boolean {
  if (value.length < 6 || COMMON_WORD.test(value)) return true;
  // A run of six digits or more is a PIN, a card or an account number as often as a size: a secret file's is kept hidden.
  if (/^\d+$/.test(value)) return false;
  if (/^[\d.:_+-]*$/.test(value)) return true;
  if (/^(?:\/|\.\.?\/|~\/)[\w./-]*$/.test(value)) return true;
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s?#]+\/?$/i.test(value);
}

/** A base64 value (an `.npmrc`'s `_auth` or `_password`) decoded, and for a `user:password` pair its password. */
function decodedPair(value: string): string[] {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return [];
  const text = Buffer.from(value, "base64").toString("utf8");
  if (!/^[\x20-\x7e]+$/.test(text)) return [];
  const colon = text.indexOf(":");
  return colon === -1 ? [text] : [text, text.slice(colon + 1)];
}
