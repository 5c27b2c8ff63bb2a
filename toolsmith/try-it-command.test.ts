import { expect, test } from "bun:test";
import { tryItCommand } from "./try-it-command.ts";

// Example inputs come from a model: whatever they hold, the printed command must hand the tool exactly that
// JSON when a POSIX shell runs it, and must not carry raw escape or bidi characters to the terminal.
const INPUTS: unknown[] = [
  { text: "one two three" },
  { text: 'it\'s $HOME `id` $(id) \\n "quoted"' },
  { text: "line one\nline two\ttab" },
  { text: "\u001b[2J\u202eevil\u2066", n: -1.5, list: [null, true, {}] },
  { "key with spaces": "ünïcödé 字", "'": "'" },
  {},
];

test("the printed command gives the tool exactly the example's input, through sh, and is safe to print", () => {
  for (const input of INPUTS) {
    // printf stands in for org: it prints each word the shell hands it on a line of its own.
    const command = tryItCommand({ invocation: "printf '%s\\n'", name: "word_count", branch: "cand/20261123T101500Z", input, repo: "/srv/my org" });
    expect(command).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    const ran = Bun.spawnSync(["/bin/sh", "-c", command], { env: { PATH: "/usr/bin:/bin" } });
    expect(ran.exitCode).toBe(0);
    const words = ran.stdout.toString().split("\n");
    expect(words.slice(0, 8)).toEqual(["tool", "run", "word_count", "--ref", "cand/20261123T101500Z", "--repo", "/srv/my org", "--inputs"]);
    expect(JSON.parse(words.slice(8).join("\n").trimEnd())).toEqual(input);
  }
});
