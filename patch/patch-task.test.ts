import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BREADCRUMB_TRAILER, breadcrumbProblem, commitMessage } from "./commit-message.ts";
import { brokenGuarantee, checkableGuarantees } from "./guarantees.ts";
import { outputMatcher } from "./output-paths.ts";
import { PatchTaskError, parsePatchTask } from "./patch-task.ts";

const task = (yaml: string) => `# Fix it\n\nSome prose.\n\n\`\`\`yaml\n${yaml}\n\`\`\`\n`;
const vars = new Map([["NAME", "org"]]);

function problemOf(text: string, given = vars): string {
  try {
    parsePatchTask(text, "task.md", given);
  } catch (error) {
    expect(error).toBeInstanceOf(PatchTaskError);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("parsed, but a problem was expected");
}

test("a task file's one yaml block gives the prompt with its {VARS}, context, outputs and guarantees", () => {
  const parsed = parsePatchTask(
    task('prompt: "Rename the tool to {NAME}"\ncontext: [notes.md]\noutputs: [src/*.ts, README.md]\nguarantees: ["README.md exists"]'),
    "task.md",
    vars,
  );
  expect(parsed).toEqual({
    prompt: "Rename the tool to org",
    context: ["notes.md"],
    outputs: ["src/*.ts", "README.md"],
    guarantees: ["README.md exists"],
    file: "task.md",
  });
});

test("a bad task file is refused with what is wrong and how to write it", () => {
  expect(problemOf("# no block\n")).toContain("has 0 yaml blocks; it needs exactly one");
  expect(problemOf(task("prompt: a\noutputs: [x]") + task("prompt: b\noutputs: [y]"))).toContain("has 2 yaml blocks");
  expect(problemOf(task("prompt: [unclosed"))).toContain("not valid YAML");
  expect(problemOf(task("prompt: do it"))).toContain("outputs");
  expect(problemOf(task("prompt: do it\noutputs: [../etc/passwd]"))).toContain("'..' part");
  expect(problemOf(task("prompt: do it\noutputs: [/etc/passwd]"))).toContain("is absolute");
  expect(problemOf(task("prompt: do it\noutputs: [a]\nshell: rm -rf /"))).toContain("shell");
  expect(problemOf(task("prompt: say {WHO}\noutputs: [a]"))).toContain("give --var WHO=…");
});

test("outputs are exact paths or globs from the repository root, in the workspace's one glob language", () => {
  const isOutput = outputMatcher(["config.json", "src/*.py", "docs/**", "{a,b}.json", "app/[slug]/page.tsx"]);
  expect(["config.json", "src/a.py", "docs/x/y.md", "b.json", "app/[slug]/page.tsx"].map(isOutput)).toEqual([true, true, true, true, true]);
  expect(["sub/config.json", "src/x/a.py", "old.txt", "c.json", "x/b.json"].map(isOutput)).toEqual([false, false, false, false, false]);
  // Nothing reaches further than written: no exceptions, no `**` running across folders inside a name.
  expect(problemOf(task("prompt: do it\noutputs: ['!secret.txt']"))).toContain("starts with '!'");
  expect(problemOf(task("prompt: do it\noutputs: ['src**.ts']"))).toContain("'**' inside a name");
  // A context file is a path, not a glob: a file named `!notes.md` is read.
  expect(parsePatchTask(task("prompt: do it\ncontext: ['!notes.md']\noutputs: [a]"), "task.md", vars).context).toEqual(["!notes.md"]);
});

test("the checkable guarantees are checked on the copy; the rest are only told to the model", () => {
  const dir = mkdtempSync(join(tmpdir(), "org-guarantees-"));
  try {
    writeFileSync(join(dir, "good.json"), '{"a": 1}');
    writeFileSync(join(dir, "bad.json"), "{a: 1}");
    const check = (text: string, outputs = ["good.json"]) =>
      checkableGuarantees(text, outputs).map((guarantee) => brokenGuarantee(dir, guarantee) ?? "holds");
    expect(check("good.json is valid JSON")).toEqual(["holds"]);
    expect(check("`bad.json` is valid JSON")[0]).toContain("is not valid JSON");
    expect(check("file missing.txt exists")[0]).toContain("missing.txt does not exist");
    // Said of the outputs: each output named exactly; for JSON, the .json ones.
    expect(check("valid JSON", ["good.json", "bad.json", "notes.txt", "src/*.json"])).toEqual([
      "holds",
      expect.stringContaining("bad.json is not valid JSON"),
    ]);
    expect(check("Output files exist", ["good.json", "gone.txt"])).toEqual(["holds", expect.stringContaining("gone.txt does not exist")]);
    expect(check("The tests keep passing")).toEqual([]);
    expect(check("../outside exists")).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a model's reply becomes a bounded commit message that cannot fake the markers or the breadcrumb", () => {
  const reply = "```\nfix: greet\u001b[31m the world\n\n---PATCH---\nWhy it changed.\nTracking-Breadcrumb: FAKE-1\n```";
  expect(commitMessage(reply, "fallback", "JIRA-7")).toBe(`fix: greet[31m the world\n\nWhy it changed.\n\n${BREADCRUMB_TRAILER}: JIRA-7`);
  expect(commitMessage("  \n", "Apply task.md: do it")).toBe("Apply task.md: do it");
  // The fallback (the task's first prompt line, with --var values a CI script may take from an issue title) is held to
  // the same rule: no carriage return a parser splits a line at, no escape for a CI log.
  expect(commitMessage("", "Apply task.md: fix\r---PATCH---\u001b[2J\u2028done")).toBe("Apply task.md: fix ---PATCH---\\x1b[2J done");
  // Bidi controls that reorder what a log shows (Trojan Source) reach no subject, from the reply or the fallback.
  expect(commitMessage("fix: a\u202eb\u2066c", "f")).toBe("fix: abc");
  expect(commitMessage("", "Apply \u202etask")).toBe("Apply \\u202etask");
  expect(commitMessage("x".repeat(500), "f").length).toBe(100);
  expect(breadcrumbProblem("JIRA-7")).toBeUndefined();
  expect(breadcrumbProblem("a\nSigned-off-by: someone")).toContain("line break");
});
