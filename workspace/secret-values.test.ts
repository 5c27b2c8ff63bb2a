import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { secretFileEntries, secretFileValues, workspaceSecretValues } from "./secret-values.ts";

const root = mkdtempSync(join(tmpdir(), "org-secret-values-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a secret file's values, by what the file is: assignments, .npmrc auth, .netrc passwords, credential URLs, PEM lines, a lone token", () => {
  const env = [
    "# a comment",
    "DB_PASSWORD=hunter2-horse",
    "export API_URL=postgres://app:url-password-1@db/app",
    'GREETING="two words 42" # why',
    "SINGLE='single-quoted-9'",
    "NODE_ENV=production",
    "PORT=3000",
    "HOME_DIR=/srv/app",
    "SITE=https://example.com/x",
    "AWS_REGION=us-east-1",
    // Issue 51: names that say nothing of a secret, values that are plain words.
    "STRIPE_LIVE=rkliveplainword",
    "ADMIN_LOGIN=CorrectHorse",
    "DEBUG=true",
    "LEVEL=dev",
    "REGISTRY=https://registry.example/",
    // A card, a PIN: digits alone are no version or address.
    "CARD=4111111111111111",
    "ADMIN_PIN=48213975",
    "VERSION=1.22.3",
  ].join("\n");
  expect(secretFileValues(".env.local", env).sort()).toEqual(
    [
      ...["hunter2-horse", "postgres://app:url-password-1@db/app", "url-password-1", "app", "two words 42", "single-quoted-9", "us-east-1"],
      ...["https://example.com/x", "rkliveplainword", "CorrectHorse", "4111111111111111", "48213975"],
    ].sort(),
  );
  const auth = Buffer.from("me:npm-basic-pass").toString("base64");
  expect(secretFileValues(".npmrc", `//registry.example/:_authToken=npm-token-1234\n_auth=${auth}\nregistry=https://registry.example/\n`)).toEqual(
    expect.arrayContaining(["npm-token-1234", auth, "me:npm-basic-pass", "npm-basic-pass"]),
  );
  expect(
    secretFileValues(".netrc", "machine a.example login me password netrc-pass-1\nmachine b.example\n  login you\n  password netrc-pass-2\n"),
  ).toEqual(["netrc-pass-1", "netrc-pass-2"]);
  expect(secretFileValues(".git-credentials", "https://me:cred-pass-1@github.com\nhttps://tok-only-2@gitlab.example\n")).toEqual(
    expect.arrayContaining(["cred-pass-1", "tok-only-2"]),
  );
  const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
  expect(secretFileValues("server.pem", `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`)).toContain(body);
  expect(secretFileValues("vault.token", "s.AbCdEf123456\n")).toEqual(["s.AbCdEf123456"]);
});

test("a workspace's values: every secret file in any folder (a link not followed), and its git configs' credentials", () => {
  const dir = join(root, "w");
  mkdirSync(join(dir, "app"), { recursive: true });
  mkdirSync(join(dir, ".git", "objects"), { recursive: true });
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  writeFileSync(join(dir, ".git", "config"), '[remote "origin"]\n\turl = https://me:remote-pass-5@git.example/r.git\n');
  writeFileSync(join(dir, "app", ".env"), "SECRET_KEY=app-secret-value\n");
  writeFileSync(join(root, "outside.txt"), "TOKEN=outside-value-7\n");
  symlinkSync(join(root, "outside.txt"), join(dir, ".env.outside"));
  const values = workspaceSecretValues(dir, DEFAULT_SECRET_PATHS);
  expect(values).toEqual(expect.arrayContaining(["app-secret-value", "remote-pass-5"]));
  expect(values).not.toContain("outside-value-7");
});

test("each value is named where it stands; only keys by their name or look stop a request, settings are hidden only", () => {
  const env = [
    "OPENAI_MODEL=gpt-4o-mini",
    "AWS_REGION=us-east-1",
    "API_BASE_URL=https://api.github.com/repos",
    "TZ=Europe/Berlin",
    "SUPPORT_EMAIL=help@example.com",
    "LOG_FORMAT=json-lines",
    "SITE_URL=https://example.com/shop",
    "DB_PASSWORD=correct-horse-battery",
    "STRIPE_LIVE=Zq8xT4mW9pLk2VbN7rYcHd3F",
    "WEBHOOK=https://bot:pw-in-url-77@hooks.example/x",
  ].join("\n");
  const entries = secretFileEntries(".env", env, "config/.env");
  const outbound = (value: string) => entries.find((entry) => entry.value === value)?.outbound;
  for (const setting of ["gpt-4o-mini", "us-east-1", "https://api.github.com/repos", "Europe/Berlin", "help@example.com", "json-lines"])
    expect([setting, outbound(setting)]).toEqual([setting, false]);
  for (const key of ["correct-horse-battery", "Zq8xT4mW9pLk2VbN7rYcHd3F", "pw-in-url-77"]) expect([key, outbound(key)]).toEqual([key, true]);
  expect(entries.find((entry) => entry.value === "correct-horse-battery")?.name).toBe("DB_PASSWORD in config/.env");
  // `TZ=Europe/Berlin` is 16 characters of base64's alphabet but an assignment, not a line of a PEM block.
  expect(entries.map(({ value }) => value)).not.toContain("TZ=Europe/Berlin");
  expect(secretFileValues(".env", env)).toEqual(entries.map(({ value }) => value));
});
