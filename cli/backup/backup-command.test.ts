import { expect, test } from "bun:test";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOrgProcess } from "../../testing/org-process.ts";
import { gitSync, tempGitRepo } from "../../testing/temp-git-repo.ts";

// org backup and org restore as a person runs them: what a backup holds is said; a checkout whose org.config.json its
// own ignore rules kept out of git status comes back as clean, so org doctor's checkout check passes on it.
test("a backup says what it holds; restored, a checkout's ignored org.config.json stays out of git status and doctor passes", async () => {
  using repo = tempGitRepo("org-backup-command-");
  const scratch = mkdtempSync(join(tmpdir(), "org-backup-command-"));
  chmodSync(scratch, 0o755);
  const env = { OLLAMA_BASE: "http://127.0.0.1:9", ORG_EMBED_MODEL: "off" };
  const org = (args: string[]) => runOrgProcess(args, { cwd: scratch, env, timeoutMs: 120_000 });
  try {
    writeFileSync(join(repo.dir, "org.config.json"), "{}\n");
    // Kept out of git status by the checkout's own rules, not by a committed .gitignore.
    appendFileSync(join(repo.dir, ".git", "info", "exclude"), "/org.config.json\n");
    expect(gitSync(repo.dir, ["status", "--porcelain", "--untracked-files=all"])).toBe("");

    const taken = await org(["backup", "--to", join(scratch, "backups"), "--repo", repo.dir, "--workspace", repo.dir]);
    expect(taken.exitCode).toBe(0);
    expect(taken.stdout).toContain(
      `  holds ${repo.dir}'s git refs (its committed history), its .org/ state and its org.config.json; not its uncommitted files\n`,
    );
    const file = /^backup: (\S+) /m.exec(taken.stdout)?.[1] ?? "";

    // A project beside org's checkout: its own files are not in the backup, and that is said.
    const project = join(scratch, "project");
    mkdirSync(project);
    const beside = await org(["backup", "--to", join(scratch, "beside"), "--repo", repo.dir, "--workspace", project]);
    expect(beside.stdout).toContain(`the .org/ state there and in ${project}, and that workspace's org.config.json; not the workspace's own files`);

    const to = join(scratch, "restored");
    const restored = await org(["restore", file, "--to", to]);
    expect({ code: restored.exitCode, stderr: restored.exitCode === 0 ? "" : restored.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restored.stdout).toContain("org.config.json: main does not track it, so .git/info/exclude keeps it out of git status");
    expect(gitSync(to, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    const doctor = await org(["doctor", "--json", "--repo", to, "--workspace", to]);
    const checks = JSON.parse(doctor.stdout.trim().split("\n").at(-1) ?? "{}") as { checks: { name: string; status: string; detail: string }[] };
    expect(checks.checks.find((check) => check.name === "checkout")).toMatchObject({ status: "ok" });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}, 120_000);
