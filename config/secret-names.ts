// Whether a name (an environment variable, a header, a key in a text: `API_KEY=`, `"clientSecret":`) says its value is
// a secret. One rule for every user: the environment's secret values the redactor hides (`config/environment.ts`), the
// header and env names of `mcpServers` that may hold only `${VAR}` references (`config/mcp-servers.ts`), the named
// values the redactor and the inbound scan hide (`security/secret-patterns.ts`), and the names the stream redactor waits on.

// A word that ends so names a secret: GITHUB_TOKEN, clientSecret, DB_PASSWORD, X-Auth, Proxy-Authorization, apiKey.
const SECRET_WORD_END =
  /(?:tokens?|secrets?|passwords?|passwd|passphrase|auth|authorization|credentials?|cookies?|apikey|accesskey|privatekey|privkey)$/;
// A word that is one of these names a secret: X-Api-Key, GITHUB_PAT, DB_PASS, SESSION_SALT, DB_PWD.
const SECRET_WORD = /^(?:keys?|pat|pass|pwd|creds?|salt|signature|private)$/;
// A word that ends in pass or pwd names one too (MYPASS, smtpPass written as one word, DBPWD); not these words.
const SECRET_SUFFIX = /(?:pass|pwd)$/;
const PLAIN_WORDS = /^(?:by|com|encom|over|under|tres|sur|im)pass$/;
// The shell's working directories: variables named like a password's short form that never hold one.
const SHELL_DIRECTORIES = new Set(["PWD", "OLDPWD"]);
// Anywhere in a name, even inside a word: SECRETKEY, PASSWORDHASH, MYSECRETVALUE.
const SECRET_INSIDE = /password|passwd|secret/;

/**
 * Every name `namesSecret` takes holds one of these, lowercased: a text without any of them names no secret, and a
 * stream that ends in the start of one may be writing one.
 */
export const SECRET_NAME_STEMS: readonly string[] = [
  "token",
  "secret",
  "pass",
  "pwd",
  "auth",
  "cred",
  "cookie",
  "key",
  "pat",
  "salt",
  "signature",
  "private",
];

const ANY_STEM = new RegExp(SECRET_NAME_STEMS.join("|"), "i");

/** Whether a text holds one of `SECRET_NAME_STEMS` in any case: without one, no name in it says secret. */
export function holdsSecretStem(text: string): boolean {
  return ANY_STEM.test(text);
}

/** The words of a name: split at `-`, `_`, `.` and spaces, and where a lower-case letter or digit meets a capital (apiKey). */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[-_.\s]+/);
}

/**
 * Whether a name says its value is a secret: one of its words ends in token, secret, password, passwd, passphrase, auth,
 * authorization, credential, cookie, apikey, accesskey, privatekey or privkey (a plural too), or in pass or pwd
 * (MYPASS, DBPWD; not compass or bypass), or is key, pat, cred, salt, signature or private; or password, passwd or
 * secret stands anywhere in it. AUTHOR, MONKEY_PATH and TOKENIZER_PATH name none. (`pwd` alone names one: a name the
 * redactor reads from a stem on must not name less than the whole.)
 */
export function namesSecret(name: string): boolean {
  if (!holdsSecretStem(name)) return false;
  if (SECRET_INSIDE.test(name.toLowerCase())) return true;
  return wordsOf(name).some((word) => SECRET_WORD_END.test(word) || SECRET_WORD.test(word) || (SECRET_SUFFIX.test(word) && !PLAIN_WORDS.test(word)));
}

/** Whether an environment variable's name marks a secret (`namesSecret`), the shell's `PWD` and `OLDPWD` apart. */
export function namesSecretVariable(name: string): boolean {
  return !SHELL_DIRECTORIES.has(name) && namesSecret(name);
}
