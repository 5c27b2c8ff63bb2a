import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { readersKey } from "./folder-readers.ts";

test("the trace's key is the same for the same code: other tools, and another shell's OLDPWD, _, SHLVL, TMUX_PANE or npm_*", async () => {
  using repo = tempGitRepo("org-readers-key-");
  const git = new RepoGit(repo.dir);
  const commitTool = (name: string) => {
    mkdirSync(join(repo.dir, "tools", "generated", name), { recursive: true });
    writeFileSync(join(repo.dir, "tools", "generated", name, "tool.ts"), `export const name = "${name}";\n`);
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", name]);
    return gitSync(repo.dir, ["rev-parse", "HEAD"]).trim();
  };
  writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
  const first = commitTool("word_count");
  const second = commitTool("letters");
  const tests = ["reads.test.ts"];
  const shell = { PATH: "/usr/bin:/bin", HOME: "/home/someone", ORG_SANDBOX: "on", LANG: "C.UTF-8", TERM: "xterm" };
  const key = (commit: string, variables: Record<string, string>) => readersKey(git, commit, tests, process.execPath, variables);

  const base = await key(first, shell);
  expect(await key(second, shell)).toBe(base);
  // A second shell, a tmux pane, npm run: what they add says nothing about the code or how its tests run.
  const another = { ...shell, OLDPWD: "/tmp", _: "/usr/bin/org", SHLVL: "3", TMUX: "/tmp/tmux-0/default,1,0", TMUX_PANE: "%3", npm_lifecycle_event: "start" };
  expect(await key(second, another)).toBe(base);
  // What org or bun read still makes a new key, as the code does.
  expect(await key(first, { ...shell, ORG_PROFILE: "prod" })).not.toBe(base);
  expect(await key(first, { ...shell, PATH: "/opt/bin:/usr/bin:/bin" })).not.toBe(base);
  writeFileSync(join(repo.dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated/";\n');
  gitSync(repo.dir, ["commit", "--quiet", "-am", "code change"]);
  expect(await key(gitSync(repo.dir, ["rev-parse", "HEAD"]).trim(), shell)).not.toBe(base);
});
