import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REDACTED, redact, scanForSecrets } from "../security/redact.ts";
import { streamedRedaction } from "../testing/streamed-redaction.ts";
import { secretEnvironmentValues } from "./environment.ts";
import { literalSecretProblem } from "./mcp-servers.ts";
import { namesSecret, namesSecretVariable, SECRET_NAME_STEMS } from "./secret-names.ts";

// Words that name secrets, words that only look alike, and filler, in the cases names are written in.
const word = fc.oneof(
  fc.constantFrom(
    ...["token", "tokens", "secret", "password", "passwd", "passphrase", "auth", "authorization", "credentials", "cookie", "apikey", "privkey"],
    ...["key", "keys", "pat", "pass", "cred", "salt", "signature", "private", "Key", "Token", "API", "KEY", "PAT", "Secret"],
    ...["tokenizer", "author", "authority", "monkey", "keyboard", "path", "pattern", "passenger", "compass", "pwd", "credit", "basalt", "privacy"],
    ...["api", "access", "db", "github", "x", "mode", "log", "level", "client", "session", "id", "url"],
  ),
  fc.stringMatching(/^[A-Za-z0-9]{1,6}$/),
);
const separator = fc.constantFrom("_", "-", "");
const name = fc
  .tuple(word, fc.array(fc.tuple(separator, word), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([between, next]) => between + next).join(""))
  .filter((text) => /^[A-Za-z]/.test(text))
  // The shell's working directories are no secret as variables (`namesSecretVariable`), though a text's `PWD=` hides its value.
  .filter((text) => text !== "PWD" && text !== "OLDPWD");
// A value that looks like a key to every user and holds no token shape: only the name decides.
const VALUE = "Q7w8e9r0T1y2U3i4";
const NAMED_KIND = "a named secret (password, token, api_key …)";

describe("a name that marks a secret: one rule for the environment, mcpServers, the redactor and the inbound scan", () => {
  test("every user takes the same names for secrets' names (property)", () => {
    fc.assert(
      fc.property(name, (candidate) => {
        const secret = namesSecret(candidate);
        const seen = {
          name: candidate,
          environment: secretEnvironmentValues({ [candidate]: VALUE }).includes(VALUE),
          mcpServers: literalSecretProblem("env", candidate, VALUE, "s") !== undefined,
          redacted: redact(`${candidate}=${VALUE}`) === `${candidate}=${REDACTED}`,
          scanned: scanForSecrets(`${candidate}: ${VALUE}`).kinds.includes(NAMED_KIND),
        };
        expect(seen).toEqual({ name: candidate, environment: secret, mcpServers: secret, redacted: secret, scanned: secret });
      }),
      { numRuns: 1500 },
    );
  });

  test("every secret's name holds a stem the stream redactor waits on; a stream hides what the whole text hides (property)", () => {
    // Before the name: prose, or name characters that make a name longer than the redactor reads (which names nothing).
    const lead = fc.constantFrom("said: ", "said:\n  ", "x".repeat(40), "x_".repeat(40));
    fc.assert(
      fc.property(name, lead, fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }), (candidate, before, sizes) => {
        if (namesSecret(candidate)) expect(SECRET_NAME_STEMS.some((stem) => candidate.toLowerCase().includes(stem))).toBe(true);
        const text = `${before}${candidate}=${VALUE} and more`;
        const whole = redact(text);
        // Exactly the whole's redaction, or a name let go before its stem came judged from the stem on: the value hidden.
        if (whole.includes(VALUE)) expect([whole, whole.replace(VALUE, REDACTED)]).toContain(streamedRedaction(text, sizes));
        else expect(streamedRedaction(text, sizes)).toBe(whole);
      }),
      { numRuns: 400 },
    );
  });

  test("names of secrets, and names that only look alike", () => {
    const secrets = ["GITHUB_TOKEN", "OPENAI_API_KEY", "PGPASSWORD", "X-Api-Key", "Proxy-Authorization", "Cookie", "GITHUB_PAT"];
    const camel = ["clientSecret", "apiKey", "dbPass", "sessionKey", "SECRETKEY", "PASSWORDHASH", "DB_PASS", "oauth"];
    // A word's end says it too (newcomer review: MYPASS was not redacted where DB_PASSWORD was).
    const ends = ["MYPASS", "smtppass", "DB_PWD", "DBPWD", "MYSQL_ROOT_PWD", "userPwd", "hub.oauthtoken"];
    for (const candidate of ends) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: true });
    for (const candidate of [...secrets, ...camel]) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: true });
    const plain = ["PATH", "HOME", "MONKEY_PATH", "AUTHOR", "TOKENIZER_PATH", "LOG_LEVEL", "KEYBOARD", "PASSENGER", "credit", "COMPASS_DIR", "BYPASS"];
    for (const candidate of plain) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: false });
  });

  test("the shell's working directories are no secret variables: their values are not hidden wherever the path turns up", () => {
    for (const name of ["PWD", "OLDPWD"])
      expect({ name, variable: namesSecretVariable(name), text: namesSecret(name) }).toEqual({ name, variable: false, text: true });
    expect(secretEnvironmentValues({ PWD: "/home/me/project", OLDPWD: "/home/me", DB_PWD: "db-pwd-value-1" })).toEqual(["db-pwd-value-1"]);
  });
});
