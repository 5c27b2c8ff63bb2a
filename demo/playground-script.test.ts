import { confirmConfig } from "../config/config-trust.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../room/room-event.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { type PlaygroundServer, startPlaygroundServer } from "../testing/playground-server.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { PLAYGROUND_SCRIPT_FILE, playgroundScriptJson } from "./playground-script.ts";

// The playground as a newcomer uses it: `org scripted-server --script playground` (a real process, started from
// another directory), then `org chat --once`, `org undo` and `org patch` in projects of their own. What the agent says
// must come from what its commands printed there: each project carries a token no script could know.

const scratch = mkdtempSync(join(tmpdir(), "org-playground-"));
// The sandbox drops to another uid, which must be able to enter the projects (mkdtemp makes it 0700).
chmodSync(scratch, 0o755);
const token = `tok${Math.random().toString(36).slice(2, 10)}`;
let server: PlaygroundServer;

beforeAll(async () => {
  server = await startPlaygroundServer(scratch);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A project folder with these files (paths with / make their folders). */
function project(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** `org chat --once TEXT --json` in `dir` against the playground server: what the agent (or python) said, and the session. */
async function once(dir: string, text: string, more: string[] = []) {
  const run = await runOrgProcess(["chat", "--workspace", dir, "--once", text, "--json", ...more], {
    cwd: dir,
    env: { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    timeoutMs: 200_000,
  });
  const events = run.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RoomEvent);
  const said = events.flatMap((event) => (event.type === "message" && event.message.from !== "user" ? [event.message.text] : [])).join("\n");
  const sessions = readdirSync(join(dir, ".org", "sessions")).sort();
  return { ...run, said, session: (sessions.at(-1) ?? "").replace(/\.jsonl$/, "") };
}

const NODE = {
  // A literal backslash-n in its first line: quoted as it is, never made a line break.
  "README.md": `\n# Adder ${token} (a\\nb)\n\nAdds two numbers.\n`,
  "package.json": JSON.stringify({ name: "adder", version: "1.0.0", scripts: { test: "node test.js" } }),
  "add.js": "exports.add = (a, b) => a + b;\n",
  "test.js": `require("node:assert").strictEqual(require("./add.js").add(2, 2), 4);\nconsole.log("adds: ok ${token}");\n`,
};

describe("org scripted-server --script playground", () => {
  test("its file is the generator's: run 'bun demo/playground-script.ts' after changing demo/playground/", () => {
    expect(readFileSync(PLAYGROUND_SCRIPT_FILE, "utf8")).toBe(playgroundScriptJson());
  });

  test("the agent reads the project it is in: the entries, the README's first line, how it tests itself", async () => {
    const dir = project("look", NODE);
    const { said, exitCode } = await once(dir, "@agent look around");
    expect(exitCode).toBe(0);
    expect(said).toContain(`Entries at the top of /workspace: 4. README.md has 4 lines and opens with: # Adder ${token} (a\\nb)\n`);
    expect(said).toContain("Tests: npm test (package.json has a test script).");
    const bare = await once(project("bare", { "data.csv": "a,b\n" }), "@agent what is this project?");
    expect(bare.said).toContain("Entries at the top of /workspace: 1, and no README. Tests: none (no package.json test script");
    const one = await once(project("one-line", { "README.md": "# One\n" }), "@agent look around");
    expect(one.said).toContain("README.md has 1 line and opens with: # One");
  }, 120_000);

  test("python's unittest, a Makefile's test target, and none at all", async () => {
    const failing = project("py", {
      "calc.py": "def add(a, b):\n    return a - b\n",
      "tests/test_calc.py": `import sys, unittest\nsys.path.insert(0, ".")\nfrom calc import add\n\nclass Calc(unittest.TestCase):\n    def test_${token}(self):\n        self.assertEqual(add(2, 2), 4)\n`,
    });
    const make = project("make", { Makefile: `test:\n\t@echo "make ran ${token}"\n` });
    const none = project("none", { "notes.txt": "nothing to test\n" });
    const [py, made, nothing] = await Promise.all([failing, make, none].map((dir) => once(dir, "@agent run the tests")));
    expect(py?.said).toMatch(
      /The tests fail: python3 -m unittest discover -v -s tests \(Python tests[^)]*\) exited 1 in the sandbox\. Its last line: FAILED \(failures=1\)/,
    );
    expect(made?.said).toContain(
      `The tests pass: make test (the Makefile has a test target) exited 0 in the sandbox. Its last line: make ran ${token}`,
    );
    expect(nothing?.said).toContain("I found no tests to run here: no package.json test script, no Makefile test target, no Python tests");
  }, 180_000);

  // One run of the node project's tests serves both claims: how they ended, then the notes written from it.
  test("runs the project's tests in the sandbox and says how they ended, from their own output; writes NOTES.md through the write view from what it ran, which org undo takes back; the read view refuses", async () => {
    const readOnly = project("read-view", { "README.md": `# Read ${token}\n`, Makefile: "test:\n\t@echo fine\n" });
    const refused = await once(readOnly, "@agent write notes");
    expect(refused.said).toContain("I could not write NOTES.md: /workspace is read-only in this room");
    expect(existsSync(join(readOnly, "NOTES.md"))).toBe(false);

    const dir = project("write-view", { ...NODE, "org.config.json": JSON.stringify({ sandbox: { workspace: "write" } }) });
    // The person wrote it: the write view is theirs (a repository's would wait for 'org config trust').
    confirmConfig(join(dir, "org.config.json"));
    const tests = await once(dir, "@agent run the tests", ["--yes"]);
    if (existsSync("/usr/bin/npm"))
      expect(tests.said).toContain(
        `The tests pass: npm test (package.json has a test script) exited 0 in the sandbox. Its last line: adds: ok ${token}`,
      );
    const notes = await once(dir, "@agent write notes", ["--resume", tests.session, "--yes"]);
    expect(notes.said).toMatch(/I wrote NOTES\.md \(\d+ lines\) from what my commands printed; it was applied as change \S+ \(1 file \(\+\d+ −0\)\)/);
    const written = readFileSync(join(dir, "NOTES.md"), "utf8");
    expect(written).toContain(`- README.md opens with: # Adder ${token} (a\\nb)\n`);
    if (existsSync("/usr/bin/npm")) expect(written).toContain(`- \`npm test\` exited 0 in the sandbox; its last lines:`);
    if (existsSync("/usr/bin/npm")) expect(written).toContain(`    adds: ok ${token}`);
    const undo = await runOrgProcess(["undo", "--workspace", dir], { cwd: dir });
    expect(undo.stdout).toContain("1 file restored");
    expect(existsSync(join(dir, "NOTES.md"))).toBe(false);
  }, 180_000);

  test("org patch gets NOTES.md as a patch and a commit message made from the project", async () => {
    const repo = project("patch-repo", { "README.md": `# Patched ${token}\n`, Makefile: `test:\n\t@echo "patch run ${token}"\n` });
    gitSync(repo, ["init", "--quiet", "--initial-branch=main"]);
    gitSync(repo, ["add", "-A"]);
    gitSync(repo, ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "init"]);
    const task = join(scratch, "notes-task.md");
    writeFileSync(
      task,
      '# Notes\n\n```yaml\nprompt: "Look at the project and write notes on it."\noutputs: [NOTES.md]\nguarantees:\n  - NOTES.md exists\n```\n',
    );
    const patch = await runOrgProcess(["patch", "--task", task, "--repo", repo], {
      cwd: repo,
      env: { LLM_BASE_URL: server.url, LLM_MODEL: "scripted" },
      timeoutMs: 200_000,
    });
    expect({ exitCode: patch.exitCode, stderr: patch.exitCode === 0 ? "" : patch.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(patch.stdout).toStartWith("---COMMIT_MSG---\ndocs: NOTES.md on what is in the project and how its tests ran\n");
    expect(patch.stdout).toContain("+++ b/NOTES.md");
    expect(patch.stdout).toContain(`+- README.md opens with: # Patched ${token}`);
    expect(patch.stdout).toContain(`+    patch run ${token}`);
  }, 180_000);

  test("python counts the project's lines by kind of file", async () => {
    const dir = project("lines", { "a.py": "1\n2\n3\n", "b.py": "1\n", "c.md": "x\n" });
    const single = project("single", { "a.py": "1\n" });
    const [many, one] = await Promise.all([once(dir, "@python count the lines"), once(single, "@python count the lines")]);
    expect(many?.said).toContain("Kinds of file in the project: 2. The most lines are in .py: 2 files, 4 lines.");
    expect(one?.said).toContain("Kinds of file in the project: 1. The most lines are in .py: 1 file, 1 line.");
  }, 120_000);
});
