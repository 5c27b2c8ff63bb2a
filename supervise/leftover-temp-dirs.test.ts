import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { uniqueSessionName } from "../testing/tmux.ts";
import { waitUntil } from "../testing/wait-until.ts";

// `TMPDIR=X org sandbox run -- sleep 600`, killed with kill -9, leaves its temporary folder in X; `org supervise` run with
// the same TMPDIR finds it (its name carries the dead pid) and removes it, and leaves a live run's alone.

test("the temporary folder of an org sandbox run killed with kill -9 is found in $TMPDIR and removed by org supervise; a live run's stays", async () => {
  using repo = tempGitRepo("org-supervise-tmp-");
  const temp = mkdtempSync(join(tmpdir(), "org-supervise-tmpdir-"));
  chmodSync(temp, 0o755);
  const env = {
    ...process.env,
    TMPDIR: temp,
    NO_COLOR: "1",
    OLLAMA_BASE: "http://127.0.0.1:9",
    ORG_EMBED_MODEL: "off",
    ORG_TMUX_SESSION: uniqueSessionName("org-sv-tmp"),
  };
  const runs = () => readdirSync(temp).filter((name) => name.startsWith("org-sandbox-run-"));
  // Both runs outlast the test however slow the machine (the finally kills them): a live run that ended on its own
  // would remove its folder, and supervise must be seen leaving a live one's alone.
  const start = () =>
    Bun.spawn(orgCommand(["sandbox", "run", "--timeout-ms", "600000", "--", "sleep", "600"]), {
      cwd: repo.dir,
      env,
      stdout: "ignore",
      stderr: "ignore",
      timeout: 600_000,
    });
  const killed = start();
  const live = start();
  try {
    await waitUntil("both runs to make their temporary folders", () => runs().length === 2, 30_000);
    killed.kill("SIGKILL");
    await killed.exited;
    const leftover = runs().find((name) => name.includes(`-${killed.pid}-`));
    expect(leftover).toBeDefined();
    // A backup killed half-way leaves its scratch folder, named the same way, in the backup folder.
    const partial = join(repo.dir, ".org", "backups", `org-backup-partial-${killed.pid}-1-abcDEF`);
    mkdirSync(partial, { recursive: true });
    const once = await runOrgProcess(["supervise", "--once", "--workspace", repo.dir, "--repo", repo.dir], { cwd: repo.dir, env, timeoutMs: 90_000 });
    expect(once.exitCode, once.stderr).toBe(0);
    expect(once.stdout).toContain(`removed ${join(temp, leftover ?? "")}`);
    expect(runs()).toEqual([expect.stringContaining(`-${live.pid}-`)]);
    expect(once.stdout).toContain(`${partial} (a backup that died before it was whole)`);
    expect(existsSync(partial)).toBe(false);
  } finally {
    killed.kill("SIGKILL");
    live.kill("SIGKILL");
    await Promise.all([killed.exited, live.exited]);
    rmSync(temp, { recursive: true, force: true });
  }
}, 120_000);
