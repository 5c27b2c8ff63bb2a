import { expect, test } from "bun:test";
import { gitConfigWithoutCredentials } from "./git-config-credentials.ts";

test("a git config keeps every setting git needs and loses every credential, whatever shape it is written in", () => {
  const text = [
    "# the user's own comment",
    "[core]",
    "\trepositoryformatversion = 0",
    "\tbare = false",
    '[remote "origin"]',
    "\turl = https://x-access-token:ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@github.com/o/r.git",
    "\tpushurl = ssh://deploy:pushpass99@git.example:22/o/r.git",
    '[http "https://user:subsection-pass@host.example/"]',
    "\textraHeader = Authorization: Bearer bearer-token-12345",
    "\tsslVerify = true",
    `[http] extraheader = AUTHORIZATION: basic ${Buffer.from("me:basic-pass-77").toString("base64")}`,
    '[credential "https://host.example"]',
    "\thelper = store --file=/tmp/creds",
    "\tusername = me",
    "[credential]",
    '\thelper = "!f() { echo password=inline-pass-42; }; f"',
    "[github]",
    "\ttoken = github-cfg-token-1",
    "[sendemail]",
    "\tsmtpPass = smtp-pass-2",
    "[alias]",
    "\tlong = log --oneline \\",
    "\t  --graph",
    "\tsecretalias = !echo \\",
    "\t  continued-secret-line",
    "[branch.main] remote = origin",
    "",
  ].join("\n");
  const { text: clean, credentials } = gitConfigWithoutCredentials(text);
  expect(clean).toBe(
    [
      "# the user's own comment",
      "[core]",
      "\trepositoryformatversion = 0",
      "\tbare = false",
      '[remote "origin"]',
      "\turl = https://github.com/o/r.git",
      "\tpushurl = ssh://git.example:22/o/r.git",
      '[http "https://host.example/"]',
      "\tsslVerify = true",
      "[http]",
      '[credential "https://host.example"]',
      "[credential]",
      "[github]",
      "[sendemail]",
      "[alias]",
      "\tlong = log --oneline \\",
      "\t  --graph",
      "[branch.main] remote = origin",
      "",
    ].join("\n"),
  );
  for (const secret of [
    "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "pushpass99",
    "subsection-pass",
    "bearer-token-12345",
    "basic-pass-77",
    "inline-pass-42",
    "github-cfg-token-1",
    "smtp-pass-2",
  ])
    expect(credentials).toContain(secret);
  expect(clean).not.toContain("continued-secret-line");
});
