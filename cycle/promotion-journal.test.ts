import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processStart } from "../security/process-start.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { PromotionBlockedError, PromotionJournal } from "./promotion-journal.ts";

const lockOf = (dir: string) => join(dir, ".org", "promotion.lock");

test("a promotion lock whose pid now names another process (reused after a kill -9) is taken over", () => {
  using repo = tempGitRepo();
  const journal = new PromotionJournal(repo.dir);
  // pid 1 is alive, but it did not start at the time this lock names.
  writeFileSync(lockOf(repo.dir), JSON.stringify({ pid: 1, start: "1", since: new Date().toISOString(), command: "promote" }));
  journal.lock();
  expect(journal.tookOverStaleLock).toBe(true);
  expect(JSON.parse(readFileSync(lockOf(repo.dir), "utf8"))).toMatchObject({ pid: process.pid });
  journal.unlock();
});

test("a live holder's lock, also one written before locks named a start time, refuses; unlock frees only one's own", () => {
  using repo = tempGitRepo();
  const sleeper = Bun.spawn(["sleep", "60"]);
  try {
    const journal = new PromotionJournal(repo.dir);
    const held = JSON.stringify({ pid: sleeper.pid, start: processStart(sleeper.pid), since: new Date().toISOString(), command: "promote" });
    for (const lock of [held, JSON.stringify({ pid: sleeper.pid, startedAt: new Date().toISOString() })]) {
      writeFileSync(lockOf(repo.dir), lock);
      expect(() => journal.lock()).toThrow(PromotionBlockedError);
      journal.unlock();
      expect(readFileSync(lockOf(repo.dir), "utf8")).toBe(lock);
    }
  } finally {
    sleeper.kill("SIGKILL");
  }
});
