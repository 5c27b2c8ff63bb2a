import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { takePidLock } from "../security/pid-lock.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { startSupervisorProcess } from "../testing/supervise-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { uniqueSessionName } from "../testing/tmux.ts";
import { waitUntil } from "../testing/wait-until.ts";

// The supervisor's own state.db damaged under a running supervisor, through real processes: `org supervise status` (a
// reader) must not move the file the supervisor holds open, and the supervisor, whose own connection answers from its
// page cache, must find the damage itself, keep the file aside and begin anew.

function read<T>(path: string, sql: string): T[] {
  const database = new Database(path, { readonly: true });
  try {
    database.exec("PRAGMA busy_timeout = 5000");
    return database.query<T, []>(sql).all();
  } finally {
    database.close();
  }
}

/** Moves what the log holds into the file, then writes garbage over every page but the first. */
function corruptPages(path: string): void {
  const checkpoint = new Database(path);
  checkpoint.exec("PRAGMA busy_timeout = 5000");
  checkpoint.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
  checkpoint.close();
  const fd = openSync(path, "r+");
  try {
    for (let page = 1; page < statSync(path).size / 4096; page += 1) writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, page * 4096);
  } finally {
    closeSync(fd);
  }
}

/** Whether a round was recorded in the file at `path` (false while there is none, or it cannot be read yet). */
function hasRound(path: string): boolean {
  try {
    return read<{ n: number }>(path, "SELECT count(*) AS n FROM kv WHERE key = 'round:last'")[0]?.n === 1;
  } catch {
    return false;
  }
}

const damagedCopies = (dir: string) => readdirSync(dir).filter((name) => /^state\.db\.damaged-[\dTZ-]+$/.test(name));

test("a damaged state.db under a running supervisor: status moves nothing and says who holds it; the supervisor keeps it aside, begins anew, says so", async () => {
  using repo = tempGitRepo("org-supervise-own-state-");
  writeFileSync(join(repo.dir, "org.config.json"), JSON.stringify({ supervise: { every: "1s" } }));
  const env = {
    OLLAMA_BASE: "http://127.0.0.1:9",
    OLLAMA_MODEL: "scripted",
    ORG_EMBED_MODEL: "off",
    ORG_TMUX_SESSION: uniqueSessionName("org-sv-own"),
  };
  const folder = join(repo.dir, ".org", "supervisor");
  const path = join(folder, "state.db");
  const status = () => runOrgProcess(["supervise", "status", "--workspace", repo.dir, "--repo", repo.dir], { cwd: repo.dir, env, timeoutMs: 60_000 });
  {
    await using supervisor = startSupervisorProcess(["--workspace", repo.dir, "--repo", repo.dir], { cwd: repo.dir, env });
    await waitUntil("the supervisor's first round", () => hasRound(path), 60_000);
    // Its next round waits for the round lock, which the test holds while it breaks the file and reads the status. A
    // round begins every second and lasts longer on a busy machine: the lock is taken between two of them.
    let round = takePidLock(join(folder, "round.lock"), "the test");
    await waitUntil(
      "the round lock free between two rounds",
      () => {
        if (round.kind !== "taken") round = takePidLock(join(folder, "round.lock"), "the test");
        return round.kind === "taken";
      },
      60_000,
    );
    if (round.kind !== "taken") throw new Error("the round lock was not free");
    const inode = statSync(path).ino;
    corruptPages(path);
    const refused = await status();
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`pid ${supervisor.pid} holds it open, so it is left where it is`);
    expect(statSync(path).ino).toBe(inode);
    expect(damagedCopies(folder)).toEqual([]);

    round.release();
    await waitUntil("the supervisor to keep the damaged file aside", () => damagedCopies(folder).length === 1, 60_000);
    await waitUntil("a round on the new file", () => hasRound(path), 60_000);
    expect(read(path, "PRAGMA quick_check")).toEqual([{ quick_check: "ok" }]);
    expect(read<{ text: string }>(path, "SELECT text FROM events WHERE kind = 'state'")[0]?.text).toContain("is damaged");
    expect(supervisor.output()).toContain(`the supervisor's state ${path} is damaged`);
    const shown = await status();
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain(`org supervise runs (pid ${supervisor.pid}`);
    expect(read<{ name: string; state: string }>(path, "SELECT name, state FROM checks WHERE name = 'databases'")[0]?.state).toBe("ok");
  }
  // With no supervisor left, a reader is the only one: it keeps the damaged file aside itself.
  corruptPages(path);
  expect((await status()).exitCode).toBe(0);
  expect(damagedCopies(folder)).toHaveLength(2);
}, 120_000);
