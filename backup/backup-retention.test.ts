import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRetention, keptBackups, listBackups } from "./backup-retention.ts";

test("a backup is never removed by backup.keep in the minute it was made; of two of one day the newest is kept once the other is a minute old", () => {
  const dir = mkdtempSync(join(tmpdir(), "org-backup-keep-"));
  try {
    // The supervisor's daily backup, then a person's `org backup` four seconds later, on the same day.
    const daily = "org-backup-20261126T083343Z.tar.gz";
    const manual = "org-backup-20261126T083347Z.tar.gz";
    const yesterday = "org-backup-20261125T083343Z.tar.gz";
    for (const [name, at] of [
      [yesterday, "2026-11-25T08:33:44Z"],
      [daily, "2026-11-26T08:33:44Z"],
      [manual, "2026-11-26T08:33:48Z"],
    ] as const) {
      writeFileSync(join(dir, name), "x");
      utimesSync(join(dir, name), new Date(at), new Date(at));
    }
    const manualDone = Date.parse("2026-11-26T08:33:48Z");
    // Right after the person's backup: both of today kept, the older as made within the minute.
    expect(Object.fromEntries(keptBackups(listBackups(dir), { daily: 7, weekly: 4 }, manualDone))).toEqual({
      [manual]: ["daily 2026-11-26", "weekly 2026-W48", "newest", "made within the minute"],
      [daily]: ["made within the minute"],
      [yesterday]: ["daily 2026-11-25"],
    });
    expect(applyRetention(dir, { daily: 7, weekly: 4 }, manualDone)).toEqual([]);
    // A backup whose file was written within the minute is kept too, whatever its name says (a long backup's start).
    const slow = "org-backup-20261126T080000Z.tar.gz";
    writeFileSync(join(dir, slow), "x");
    utimesSync(join(dir, slow), new Date(manualDone - 30_000), new Date(manualDone - 30_000));
    expect(keptBackups(listBackups(dir), { daily: 7, weekly: 4 }, manualDone).get(slow)).toEqual(["made within the minute"]);
    // A minute on, the next backup.keep keeps the newest of the day.
    const later = manualDone + 61_000;
    expect(
      applyRetention(dir, { daily: 7, weekly: 4 }, later)
        .map((file) => file.name)
        .sort(),
    ).toEqual([slow, daily]);
    expect(readdirSync(dir).sort()).toEqual([yesterday, manual]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
