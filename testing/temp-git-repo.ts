import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The environment a test's own git runs with: no global or system config (the user's signing, hooks, default
 * branch, colours), a fixed identity, the rest of the process's environment as it is.
 */
export function testGitEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !name.startsWith("GIT_")) kept[name] = value;
  return {
    ...kept,
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@t",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@t",
  };
}

/** Runs git in `directory` for a test (with `stdin` when given), hooks off and the user's git config ignored, and returns stdout; throws with stderr
 * on failure.
 */
export function gitSync(directory: string, args: string[], stdin?: string): string {
  const result = Bun.spawnSync(["git", "-c", "core.hooksPath=/dev/null", "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd: directory,
    env: testGitEnv(),
    ...(stdin !== undefined ? { stdin: Buffer.from(stdin) } : {}),
    stdout: "pipe",
    stderr: "pipe",
  });
  if (result.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

/** A throw-away repository with a `main` branch and one commit; removed when disposed. */
export function tempGitRepo(prefix = "org-git-"): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // When tests run as root the sandbox drops to another uid, which must pass through the repository.
  chmodSync(dir, 0o755);
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  writeFileSync(join(dir, "README.md"), "a repo\n");
  gitSync(dir, ["add", "README.md"]);
  gitSync(dir, ["commit", "--quiet", "-m", "first"]);
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What must not change in the running checkout: status, every ref, HEAD and the index. */
export function checkoutState(dir: string): string {
  return [
    gitSync(dir, ["status", "--porcelain", "--untracked-files=all"]),
    gitSync(dir, ["for-each-ref", "--format=%(refname) %(objectname)"]),
    gitSync(dir, ["rev-parse", "--symbolic-full-name", "HEAD"]),
    gitSync(dir, ["rev-parse", "HEAD"]),
    gitSync(dir, ["ls-files", "--stage"]),
  ].join("\n--\n");
}
