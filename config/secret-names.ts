// Whether a name (an environment variable, a header, a key in a text: `API_KEY=`, `"clientSecret":`) says its value is
// a secret. One rule for every user: the environment's secret values the redactor hides (`config/environment.ts`), the
// header and env names of `mcpServers` that may hold only `${VAR}` references (`config/mcp-servers.ts`), the named
// values the redactor and the inbound scan hide (`security/redact.ts`), and the names the stream redactor waits on.

// A word that ends so names a secret: GITHUB_TOKEN, clientSecret, DB_PASSWORD, X-Auth, Proxy-Authorization, apiKey.
const SECRET_WORD_END = /(?:tokens?|secrets?|passwords?|passwd|passphrase|auth|authorization|credentials?|cookies?|apikey|accesskey|privatekey|privkey)$/;
// A word that is one of these names a secret: X-Api-Key, GITHUB_PAT, DB_PASS, SESSION_SALT. (`PWD` is the shell's
// working directory, no secret.)
const SECRET_WORD = /^(?:keys?|pat|pass|creds?|salt|signature|private)$/;
// Anywhere in a name, even inside a word: SECRETKEY, PASSWORDHASH, MYSECRETVALUE.
const SECRET_INSIDE = /password|passwd|secret/;

/**
 * Every name `namesSecret` takes holds one of these, lowercased: a text without any of them names no secret, and a
 * stream that ends in the start of one may be writing one.
 */
export const SECRET_NAME_STEMS: readonly string[] = ["token", "secret", "pass", "auth", "cred", "cookie", "key", "pat", "salt", "signature", "private"];

const ANY_STEM = new RegExp(SECRET_NAME_STEMS.join("|"), "i");

/** The words of a name: split at `-`, `_`, `.` and spaces, and where a lower-case letter or digit meets a capital (apiKey). */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[-_.\s]+/);
}

/**
 * Whether a name says its value is a secret: one of its words ends in token, secret, password, passwd, passphrase, auth,
 * authorization, credential, cookie, apikey, accesskey, privatekey or privkey (a plural too), or is key, pat, pass,
 * cred, salt, signature or private; or password, passwd or secret stands anywhere in it. AUTHOR, MONKEY_PATH,
 * TOKENIZER_PATH and PWD name none.
 */
export function namesSecret(name: string): boolean {
  if (!ANY_STEM.test(name)) return false;
  if (SECRET_INSIDE.test(name.toLowerCase())) return true;
  return wordsOf(name).some((word) => SECRET_WORD_END.test(word) || SECRET_WORD.test(word));
}
