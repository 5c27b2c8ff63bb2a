import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REDACTED, redact } from "../security/redact.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { secretEnvironmentValues } from "./environment.ts";
import { literalSecretProblem } from "./mcp-servers.ts";
import { NAMED_VALUE as VALUE, secretishName as name } from "../testing/redactor-properties.ts";
import { namesSecret, namesSecretVariable } from "./secret-names.ts";

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

  test("a name that has a secret's own shape still hides the value it names (seed -1162623636)", () => {
    // The key pattern redacted the name first, and the value no longer followed a secret's name.
    for (const candidate of ["sk-token_token_token", "sk-proj_password_secret1"]) {
      expect(redact(`${candidate}=${VALUE}`)).not.toContain(VALUE);
      expect(redact(`x ${candidate}: ${VALUE} y`)).not.toContain(VALUE);
    }
  });

  test("names of secrets, and names that only look alike", () => {
    const secrets = ["GITHUB_TOKEN", "OPENAI_API_KEY", "PGPASSWORD", "X-Api-Key", "Proxy-Authorization", "Cookie", "GITHUB_PAT"];
    const camel = ["clientSecret", "apiKey", "dbPass", "sessionKey", "SECRETKEY", "PASSWORDHASH", "DB_PASS", "oauth"];
    // A word's end says it too (newcomer review: MYPASS was not redacted where DB_PASSWORD was).
    const ends = ["MYPASS", "smtppass", "DB_PWD", "DBPWD", "MYSQL_ROOT_PWD", "userPwd", "hub.oauthtoken"];
    for (const candidate of ends) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: true });
    for (const candidate of [...secrets, ...camel]) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: true });
    const plain = [
      "PATH",
      "HOME",
      "MONKEY_PATH",
      "AUTHOR",
      "TOKENIZER_PATH",
      "LOG_LEVEL",
      "KEYBOARD",
      "PASSENGER",
      "credit",
      "COMPASS_DIR",
      "BYPASS",
    ];
    for (const candidate of plain) expect({ candidate, secret: namesSecret(candidate) }).toEqual({ candidate, secret: false });
  });

  test("the shell's working directories are no secret variables: their values are not hidden wherever the path turns up", () => {
    for (const name of ["PWD", "OLDPWD"])
      expect({ name, variable: namesSecretVariable(name), text: namesSecret(name) }).toEqual({ name, variable: false, text: true });
    expect(secretEnvironmentValues({ PWD: "/home/me/project", OLDPWD: "/home/me", DB_PWD: "db-pwd-value-1" })).toEqual(["db-pwd-value-1"]);
  });
});
