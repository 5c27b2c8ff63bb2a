import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { backupDirOf } from "../backup/backup-retention.ts";
import { takeBackup } from "../backup/take-backup.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { REGISTRY_DATABASE_PATH } from "../registry/registry-database.ts";
import { ToolRegistry } from "../registry/tool-registry.ts";
import { superviseFixture } from "../testing/supervise-fixture.ts";
import { databasesCheck } from "./databases-check.ts";
import { superviseRound } from "./supervise-round.ts";

/** Overwrites the first page of an SQLite file: what a bad disk or a stray write does. */
function corrupt(path: string): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
  } finally {
    closeSync(fd);
  }
}

function facts(dir: string): number {
  const { store } = MemoryStore.open(dir);
  try {
    return store.counts().fact;
  } finally {
    store.close();
  }
}

describe("pattern 7: a damaged or stuck database", () => {
  test("memory is restored from the newest good backup, the damaged file kept beside it; an unchanged file is not read again", async () => {
    using fixture = superviseFixture();
    const { store } = MemoryStore.open(fixture.dir);
    store.save({ text: "the deploy key lives in the vault", persona: "agent" });
    store.close();
    // Through the state's own connection, as a supervisor backing itself up does (another descriptor would drop its locks).
    const held = new Map([[fixture.context.state.path, fixture.context.state.db]]);
    await takeBackup({
      repoDir: fixture.context.repoDir,
      workspaceDir: fixture.dir,
      dir: backupDirOf(fixture.dir, fixture.context.config.backup),
      held,
    });
    const clean = await superviseRound(fixture.context, [databasesCheck]);
    expect(clean.checks[0]?.state).toBe("ok");
    const again = await superviseRound(fixture.context, [databasesCheck]);
    expect(again.checks[0]?.detail).toContain("memory unchanged");

    const path = join(fixture.dir, ".org", "memory", "memory.sqlite");
    corrupt(path);
    const summary = await superviseRound(fixture.context, [databasesCheck]);
    expect(summary.opened.map((incident) => incident.title)).toEqual(["memory's database damaged"]);
    expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`)).toEqual(["restore-memory verified"]);
    expect(summary.fixes[0]?.detail).toContain("restored");
    expect(summary.fixes[0]?.detail).toContain(".org/backups/org-backup-");
    expect(summary.resolved).toHaveLength(1);
    const kept = readdirSync(join(fixture.dir, ".org", "memory")).filter((name) => name.startsWith("memory.sqlite.damaged-"));
    expect(kept.length).toBeGreaterThan(0);
    expect(facts(fixture.dir)).toBe(1);
  });

  test("with no backup, memory is rebuilt from the transcripts and saved facts, the damaged file still kept", async () => {
    using fixture = superviseFixture();
    const { store } = MemoryStore.open(fixture.dir);
    store.save({ text: "a fact from the log", persona: "agent" });
    store.close();
    corrupt(join(fixture.dir, ".org", "memory", "memory.sqlite"));
    const summary = await superviseRound(fixture.context, [databasesCheck]);
    expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`)).toEqual(["restore-memory verified"]);
    expect(summary.fixes[0]?.detail).toContain("no backup held a good memory database, so it was rebuilt");
    expect(readdirSync(join(fixture.dir, ".org", "memory")).some((name) => name.startsWith("memory.sqlite.damaged-"))).toBe(true);
    expect(facts(fixture.dir)).toBe(1);
  });

  test("the registry, a cache, is made anew and indexed again", async () => {
    using fixture = superviseFixture();
    const { registry } = ToolRegistry.open(fixture.context.repoDir);
    registry.close();
    const path = join(fixture.context.repoDir, REGISTRY_DATABASE_PATH);
    rmSync(`${path}-wal`, { force: true });
    corrupt(path);
    const summary = await superviseRound(fixture.context, [databasesCheck]);
    expect(summary.opened.map((incident) => incident.title)).toEqual(["the registry's database damaged"]);
    expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`)).toEqual(["rebuild-registry verified"]);
  });
});
