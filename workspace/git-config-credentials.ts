import { namesSecret } from "../config/secret-names.ts";

// A git config file (`.git/config`, a submodule's, `config.worktree`, a legacy `remotes/` file) as the agents may
// read it: git still works from it (its core settings, remotes, branches), but nothing in it can authenticate to a
// server. What it held is given back, for the redactor to hide wherever else it turns up (a reflog, a script).

/** A config's text without credentials, and the credentials it held (each as written, and decoded where encoded). */
export type ConfigWithoutCredentials = { text: string; credentials: string[] };

// `scheme://userinfo@`: the userinfo goes, the rest of the URL stays.
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@\s"'\\]+)@/g;
/** Whether a key's value is a credential under any section: an extra header (`Authorization: Basic …`), or a key named like a secret (`github.token`,
 * `sendemail.smtpPass`, `hub.oauthtoken`).
 */
const credentialKey = (key: string) => key.toLowerCase() === "extraheader" || namesSecret(key);
// An auth scheme's value in a header or helper: `Basic dXNlcjpwYXNz`, `Bearer abc`.
const SCHEME_VALUE = /\b(?:basic|bearer|token)\s+([A-Za-z0-9._~+/=-]{6,})/gi;
// `password=…` a credential helper writes.
const HELPER_FIELD = /\b(?:password|oauth_refresh_token|authtype|credential)=([^\s;'"\\]+)/gi;

/**
 * The config without what could authenticate: every `[credential]` section's keys (a helper may hold a password
 * inline), every `extraheader` and key named like a secret, and every URL's userinfo (a remote's, a `[url "…"]`'s, a
 * proxy's). Lines go whole, continuation lines with them; comments and every other line stay as they are.
 */
export function gitConfigWithoutCredentials(text: string): ConfigWithoutCredentials {
  const credentials: string[] = [];
  const kept: string[] = [];
  let section = "";
  for (const line of logicalLines(text)) {
    const header = /^(\s*\[)([^\]]*)(\].*)$/s.exec(line);
    let rest = line;
    if (header) {
      section = (/^\s*([A-Za-z0-9.-]+)/.exec(header[2] ?? "")?.[1] ?? "").split(".")[0]?.toLowerCase() ?? "";
      const after = (header[3] ?? "").slice(1);
      kept.push(`${header[1]}${withoutUserinfo(header[2] ?? "", credentials)}]`);
      rest = after;
      if (rest.trim() === "" || /^\s*[#;]/.test(rest)) {
        kept.push(rest);
        continue;
      }
    }
    const key = /^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$/s.exec(rest);
    if (key && (section === "credential" || credentialKey(key[1] ?? ""))) {
      credentials.push(...credentialsIn(key[2] ?? ""));
      // A key written after its section's header keeps that line's end.
      if (header) kept.push("\n");
      continue;
    }
    kept.push(withoutUserinfo(rest, credentials));
  }
  return { text: kept.join(""), credentials: [...new Set(credentials)].filter((value) => value.length >= 6) };
}

/** The text's lines, each with its line break; a line ending in an odd number of backslashes carries on to the next. */
function logicalLines(text: string): string[] {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const logical: string[] = [];
  let current = "";
  for (const line of lines) {
    current += line;
    const trailing = /(\\+)\r?\n$/.exec(line)?.[1]?.length ?? 0;
    if (trailing % 2 === 0) {
      logical.push(current);
      current = "";
    }
  }
  if (current !== "") logical.push(current);
  return logical;
}

/** The text with every URL's userinfo taken out; what was there goes to `credentials` (user and password, decoded). */
function withoutUserinfo(text: string, credentials: string[]): string {
  return text.replace(URL_USERINFO, (_whole, scheme: string, userinfo: string) => {
    for (const part of userinfo.split(":")) credentials.push(part, decoded(part));
    return scheme;
  });
}

/** What a dropped value holds that is secret: the value itself, the token after an auth scheme (and a Basic pair's password), a helper's fields, URL
 * userinfo.
 */
function credentialsIn(raw: string): string[] {
  const value = raw.trim().replace(/^"(.*)"$/s, "$1");
  const found = [value];
  for (const match of value.matchAll(SCHEME_VALUE)) {
    const token = match[1] ?? "";
    found.push(token);
    const pair = Buffer.from(token, "base64").toString("utf8");
    if (/^[\x20-\x7e]+:[\x20-\x7e]+$/.test(pair)) found.push(pair, ...pair.split(":").slice(1));
  }
  for (const match of value.matchAll(HELPER_FIELD)) found.push(match[1] ?? "");
  withoutUserinfo(value, found);
  return found;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
