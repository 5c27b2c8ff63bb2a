import { describe, expect, test } from "bun:test";
import { replyFileProblem } from "./reply-file-name.ts";

// Issue 18 §1: a reply written to `.env` or `bunfig.toml` configured the next start of org. file: mode
// writes only plain text; each path below is one a model could ask for.
const ALLOWED = ["replies.md", "notes/day/replies.md", "log.txt", "run.log", "Notizen über Tage.md", "a-b_c (2).txt", "v1.2.md"];

const REFUSED: [path: string, why: RegExp][] = [
  [".env", /begins with "\."/],
  [".env.local", /begins with "\."/],
  ["bunfig.toml", /does not end in \.md, \.txt or \.log/],
  ["package.json", /does not end in/],
  ["tsconfig.json", /does not end in/],
  ["node_modules/zod/index.js", /does not end in/],
  [".npmrc", /begins with "\."/],
  ["a/.hidden/x.md", /"\.hidden", which begins with "\."/],
  [".github/notes.md", /begins with "\."/],
  ["x.md/", /empty part/],
  ["a//b.md", /empty part/],
  ["X.MD", /does not end in/],
  ["notes.md.sh", /does not end in/],
  ["notes.md.", /does not end in/],
  [".md", /begins with "\."/],
  ["..", /begins with "\."/],
  ["../x.md", /begins with "\."/],
  ["./x.md", /begins with "\."/],
  ["/etc/motd.txt", /is absolute/],
  ["notes.md ", /character other than/],
  [" notes.md", /character other than/],
  ["notes.md\u0000.toml", /\\u0000/],
  ["notes\n.md", /\\u000a/],
  ["\u2024env.md", /\\u2024|character other than/], // one-dot leader, looks like "."
  ["\uFF0Eenv.md", /character other than/], // fullwidth full stop
  ["notes\u202E.md", /\\u202e/], // right-to-left override
  ["notes.m\u200Bd", /\\u200b/], // zero-width space
  ["notes\\..\\x.md", /character other than/],
  ["notes.мd", /does not end in/], // Cyrillic em
  ["", /empty part/],
];

describe("file: mode writes only plain text", () => {
  test.each(ALLOWED)("%p is allowed", (path) => {
    expect(replyFileProblem(path)).toBeUndefined();
  });

  test.each(REFUSED)("%p is refused", (path, why) => {
    const problem = replyFileProblem(path);
    expect(problem).toMatch(why);
    // Every refusal says what is allowed.
    expect(problem).toContain('no part of it beginning with ".", ending in .md, .txt or .log');
  });
});
