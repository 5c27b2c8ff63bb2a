import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gateTestEnvironment } from "../config/environment.ts";
import { RepoGit } from "../git/repo-git.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { newTraceReason, readersKey, writeCachedReaders } from "./folder-readers.ts";

function repoWithTools() {
  const repo = tempGitRepo("org-readers-key-");
  const commitTool = (name: string) => {
    mkdirSync(join(repo.dir, "tools", "generated", name), { recursive: true });
    writeFileSync(join(repo.dir, "tools", "generated", name, "tool.ts"), `export const name = "${name}";\n`);
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", name]);
    return gitSync(repo.dir, ["rev-parse", "HEAD"]).trim();
  };
  writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
  return { repo, commitTool, git: new RepoGit(repo.dir) };
}

const SHELL = { PATH: "/usr/bin:/bin", HOME: "/home/someone", ORG_SANDBOX: "on", LANG: "C.UTF-8", TERM: "xterm", OLLAMA_BASE: "http://127.0.0.1:11434" };
const TESTS = ["reads.test.ts"];

test("the tests stage gets PATH, HOME, TMPDIR and a few harmless variables of the gate's, never its model server, keys or org settings", () => {
  const shell = { ...SHELL, TMPDIR: "/tmp/x", OPENAI_API_KEY: "sk-secret", ORG_API_TOKEN: "t", ORG_PROFILE: "prod", BUN_CONFIG_X: "1", ORG_TEST_RUN: "run-1" };
  expect(gateTestEnvironment(shell)).toEqual({
    variables: {
      PATH: "/usr/bin:/bin",
      HOME: "/home/someone",
      TMPDIR: "/tmp/x",
      LANG: "C.UTF-8",
      TERM: "xterm",
      ORG_TEST_RUN: "run-1",
      // The tests' own org folder, under TMPDIR: never the person's under HOME.
      ORG_HOME: `/tmp/x/org-gate-home-${process.getuid?.() ?? 0}`,
    },
    keyed: { PATH: "/usr/bin:/bin", HOME: "/home/someone", TMPDIR: "/tmp/x" },
  });
});

test("the trace's key is the same for the same code whatever else the shell holds: other tools, OLLAMA_BASE or not, OLDPWD, SHLVL, npm_*", async () => {
  const { repo, commitTool, git } = repoWithTools();
  using _ = repo;
  const first = commitTool("word_count");
  const second = commitTool("letters");
  const key = async (commit: string, variables: Record<string, string>) =>
    (await readersKey(git, commit, TESTS, process.execPath, gateTestEnvironment(variables).keyed)).key;

  const base = await key(first, SHELL);
  expect(await key(second, SHELL)).toBe(base);
  // A second shell without a model server, a tmux pane, npm run, another profile: none of it reaches the tests.
  const { OLLAMA_BASE: _base, ...withoutModel } = SHELL;
  const another = { ...withoutModel, OLDPWD: "/tmp", _: "/usr/bin/org", SHLVL: "3", TMUX_PANE: "%3", npm_lifecycle_event: "start", ORG_PROFILE: "prod" };
  expect(await key(second, another)).toBe(base);
  // What can move what a test touches into the worktree makes a new key, as the code does.
  expect(await key(first, { ...SHELL, PATH: "/opt/bin:/usr/bin:/bin" })).not.toBe(base);
  expect(await key(first, { ...SHELL, HOME: "/home/other" })).not.toBe(base);
  writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated/";\n');
  gitSync(repo.dir, ["commit", "--quiet", "-am", "code change"]);
  expect(await key(gitSync(repo.dir, ["rev-parse", "HEAD"]).trim(), SHELL)).not.toBe(base);
});

test("a new trace says why: the first for this code, the code that changed since the last, or the variable", async () => {
  const { repo, commitTool, git } = repoWithTools();
  using _ = repo;
  const first = commitTool("word_count");
  const keyed = gateTestEnvironment(SHELL).keyed;
  const before = await readersKey(git, first, TESTS, process.execPath, keyed);
  expect(newTraceReason(repo.dir, before.parts)).toBe("first trace for this code");
  writeCachedReaders(repo.dir, before.key, before.parts, TESTS, []);

  writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated/";\n');
  writeFileSync(join(repo.dir, "more.ts"), "export const more = 1;\n");
  gitSync(repo.dir, ["add", "-A"]);
  gitSync(repo.dir, ["commit", "--quiet", "-m", "code change"]);
  const changed = await readersKey(git, gitSync(repo.dir, ["rev-parse", "HEAD"]).trim(), TESTS, process.execPath, keyed);
  expect(newTraceReason(repo.dir, changed.parts)).toBe("code changed: 2 file(s) (loader.ts, more.ts) since the last trace");

  const moved = await readersKey(git, first, TESTS, process.execPath, gateTestEnvironment({ ...SHELL, PATH: "/opt/bin:/bin" }).keyed);
  expect(newTraceReason(repo.dir, moved.parts)).toBe("the tests' PATH changed since the last trace");
});
