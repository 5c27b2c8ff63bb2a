import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs git in `directory` for a test, hooks off, and returns stdout; throws with stderr on failure. */
export function gitSync(directory: string, args: string[]): string {
  const result = Bun.spawnSync(["git", "-c", "core.hooksPath=/dev/null", "-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd: directory,
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
    gitSync(dir, ["symbolic-ref", "HEAD"]),
    gitSync(dir, ["rev-parse", "HEAD"]),
    gitSync(dir, ["ls-files", "--stage"]),
  ].join("\n--\n");
}
