import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { deadPid } from "../testing/supervise-fixture.ts";
import { deadOwnersTempDirs, ownedTempDir, ownerOfTempDir } from "./owned-temp-dir.ts";
import { processStart } from "./process-start.ts";

test("a temporary folder names its owner (pid and start time); only those of owners gone are found, never a live one's or the shared support folder", () => {
  const parent = mkdtempSync(join(tmpdir(), "owned-temp-"));
  try {
    const mine = ownedTempDir("sandbox-run", parent);
    expect(ownerOfTempDir(basename(mine))).toEqual({ kind: "sandbox-run", pid: process.pid, start: processStart(process.pid) || "0" });
    const dead = join(parent, `org-fitness-${deadPid()}-12345-abcDEF`);
    // This process's pid with another start time: the pid was reused, the owner is gone.
    const reused = join(parent, `org-patch-${process.pid}-1-zzzzzz`);
    const support = join(parent, `org-sandbox-${process.getuid?.() ?? 0}-0123456789abcdef`);
    const stranger = join(parent, "org-notes-from-someone");
    for (const folder of [dead, reused, support, stranger]) mkdirSync(folder);
    const found = deadOwnersTempDirs(parent).map((folder) => folder.path);
    expect(found).toContain(dead);
    expect(found).not.toContain(mine);
    expect(found).not.toContain(support);
    expect(found).not.toContain(stranger);
    // Reuse is only told where /proc says when a process started.
    if (processStart(process.pid) !== "") expect(found).toContain(reused);
    expect(() => ownedTempDir("../escape", parent)).toThrow("lower-case words");
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
