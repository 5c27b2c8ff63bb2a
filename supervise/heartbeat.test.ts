import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyRetention, backupDirOf, listBackups } from "../backup/backup-retention.ts";
import { takeBackup } from "../backup/take-backup.ts";
import { verifyBackup } from "../backup/verify-backup.ts";
import { deadPid, superviseFixture } from "../testing/supervise-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { recordToolCall } from "../usage/tool-calls.ts";
import { heartbeat } from "./heartbeat.ts";
import { OBSERVER } from "../memory/facts-command.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { profilePath } from "../personas/user-profile.ts";
import { locksCheck } from "./locks-check.ts";
import { emptySummary, superviseRound } from "./supervise-round.ts";
import { statusLines, superviseStatus } from "./supervise-status.ts";

const DAY = 86_400_000;
const WEDNESDAY = Date.parse("2026-11-25T12:00:00Z");

test("the heartbeat takes the daily backup once a day, writes the day's report, and last week's digest with its chart once the week turns", async () => {
  using fixture = superviseFixture({ start: WEDNESDAY });
  const repo = fixture.context.repoDir;
  // In this process, on the test's clock, through the state's own connection (`org backup` as a process uses the real clock).
  fixture.context.takeBackup = async (context) => {
    const dir = backupDirOf(context.workspaceDir, context.config.backup);
    const taken = await takeBackup({
      repoDir: context.repoDir,
      workspaceDir: context.workspaceDir,
      dir,
      now: () => new Date(context.now()),
      held: new Map([[context.state.path, context.state.db]]),
    });
    const dropped = applyRetention(dir, context.config.backup.keep, context.now()).map((file) => file.path);
    return { path: taken.path, bytes: taken.bytes, entries: taken.manifest.entries.length, skipped: taken.manifest.skipped, dropped };
  };
  const main = gitSync(repo, ["rev-parse", "main"]).trim();
  gitSync(repo, ["tag", "promote/20261124T090000Z", main]);
  const revert = gitSync(repo, [
    "commit-tree",
    "-p",
    main,
    "-m",
    "revert: roll back promote/20261124T090000Z\n\nRolls-Back: promote/20261124T090000Z",
    `${main}^{tree}`,
  ]).trim();
  gitSync(repo, ["tag", "rollback/20261125T080000Z", revert]);
  for (let index = 0; index < 10; index += 1)
    recordToolCall(repo, { tool: "word_count", ok: index < 8, durationMs: 4, time: WEDNESDAY - 3_600_000 + index });
  mkdirSync(join(fixture.dir, ".org", "grow"), { recursive: true });
  writeFileSync(join(fixture.dir, ".org", "grow", "grow.lock"), JSON.stringify({ pid: deadPid(), start: "", since: "x", command: "org grow" }));
  await superviseRound(fixture.context, [locksCheck]);

  await heartbeat(fixture.context, emptySummary(fixture.context.now()));
  const backups = listBackups(join(fixture.dir, ".org", "backups"));
  expect(backups.map((file) => file.name)).toEqual(["org-backup-20261125T120000Z.tar.gz"]);
  expect((await verifyBackup(backups[0]?.path ?? "")).manifest.entries.some((entry) => entry.name === "repo/.org/supervisor/state.db")).toBe(true);
  // Taken unasked: said with its file, its size and what it holds.
  expect(fixture.lines.find((line) => line.startsWith("daily backup"))).toMatch(
    new RegExp(
      `^daily backup ${backups[0]?.path} \\(\\d+ entries, \\d+\\.\\d MiB\\): ` +
        `holds .*'s git refs \\(its committed history\\), .*; one a day into backup\\.dir, kept by backup\\.keep$`,
    ),
  );
  const report = readFileSync(join(fixture.dir, ".org", "supervisor", "reports", "2026-11-25.md"), "utf8");
  expect(report).toStartWith("# org supervise — 2026-11-25");
  expect(report).toContain("a lock of a dead process");
  expect(report).toMatch(
    /fix f[0-9a-f]{10} `clear-stale-lock .*grow\.lock` by supervisor \(auto\): proposed 12:00:00 → applied 12:00:00 → verified 12:00:00/,
  );
  // Later the same day: no second backup.
  fixture.advance(3_600_000);
  await heartbeat(fixture.context, emptySummary(fixture.context.now()));
  expect(listBackups(join(fixture.dir, ".org", "backups"))).toHaveLength(1);

  // The next Tuesday: a new daily backup, Monday's final report, and the digest of week 48 with the profile of what the
  // observer learned.
  const { store } = MemoryStore.open(fixture.dir);
  const fact = store.save({ text: "tests with vitest", tags: ["observed", "fact"], persona: OBSERVER });
  store.close();
  fixture.advance(6 * DAY - 3_600_000);
  await heartbeat(fixture.context, emptySummary(fixture.context.now()));
  expect(readFileSync(profilePath(fixture.dir), "utf8")).toContain(`- tests with vitest (fact) <!-- ${fact.id} -->`);
  expect(fixture.lines.find((line) => line.startsWith("weekly digest"))).toEndWith(`profile ${profilePath(fixture.dir)} (1 fact)`);
  expect(listBackups(join(fixture.dir, ".org", "backups"))).toHaveLength(2);
  expect(existsSync(join(fixture.dir, ".org", "supervisor", "reports", "2026-11-30.md"))).toBe(true);
  const digest = readFileSync(join(fixture.dir, ".org", "supervisor", "digests", "2026-W48.md"), "utf8");
  const lines = digest.split("\n");
  expect(lines[0]).toBe("# org — week 2026-W48 (2026-11-23 to 2026-11-29)");
  expect(lines).toEqual(
    expect.arrayContaining([
      "![promotions, rollbacks and tool success per day](2026-W48.svg)",
      "- promote/20261124T090000Z",
      "- rollback/20261125T080000Z undid promote/20261124T090000Z",
      "| word_count | 10 | 8 | 80.0 % |",
      "| 2026-11-25 | 0 | 1 | 10 | 80.0 % |",
    ]),
  );
  const chart = readFileSync(join(fixture.dir, ".org", "supervisor", "digests", "2026-W48.svg"), "utf8");
  expect(chart).toStartWith('<svg xmlns="http://www.w3.org/2000/svg"');
  expect(chart).toContain("<title>2026-11-24: 1 promoted</title>");
  expect(chart).toContain("<title>2026-11-25: 1 rolled back</title>");
  expect(chart).toContain("<polyline");

  const status = superviseStatus(
    { workspaceDir: fixture.dir, repoDir: repo, config: fixture.context.config },
    fixture.context.state,
    fixture.context.now(),
  );
  expect(status.lastBackup?.path).toContain("org-backup-20261201T120000Z.tar.gz");
  expect(statusLines(status).join("\n")).toContain("last backup: ");
});
