import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStart } from "../security/process-start.ts";
import { GrowBusyError, growLockHolder, takeGrowLock } from "./grow-lock.ts";

const base = mkdtempSync(join(tmpdir(), "org-grow-lock-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let count = 0;

function workspace(): { dir: string; lock: string } {
  const dir = join(base, `ws-${count++}`);
  mkdirSync(join(dir, ".org", "grow"), { recursive: true, mode: 0o700 });
  return { dir, lock: join(dir, ".org", "grow", "grow.lock") };
}

test("one run at a time: a live holder is named; released, the lock is free again", () => {
  const { dir, lock } = workspace();
  const held = takeGrowLock(dir, "first");
  expect(held.tookOver).toBe(false);
  expect(growLockHolder(dir)).toMatchObject({ pid: process.pid, command: "first" });
  // This process again (a second run started by the same serve): refused only when another process holds it.
  const child = Bun.spawn(["sleep", "30"]);
  try {
    writeFileSync(
      lock,
      JSON.stringify({ pid: child.pid, start: processStart(child.pid), since: new Date().toISOString(), command: "org grow --once" }),
    );
    expect(() => takeGrowLock(dir, "second")).toThrow(GrowBusyError);
    expect(() => takeGrowLock(dir, "second")).toThrow(`another org grow run (pid ${child.pid}, org grow --once`);
  } finally {
    child.kill("SIGKILL");
  }
  held.release();
  // Our release leaves another's lock alone.
  expect(existsSync(lock)).toBe(true);
});

test("after kill -9: a dead holder's lock, a torn one, and a pid reused by another process are taken over", async () => {
  const { dir, lock } = workspace();
  const child = Bun.spawn(["sleep", "30"]);
  const start = processStart(child.pid);
  writeFileSync(lock, JSON.stringify({ pid: child.pid, start, since: new Date().toISOString(), command: "org grow" }));
  child.kill("SIGKILL");
  await child.exited;
  const taken = takeGrowLock(dir, "after a kill");
  expect(taken.tookOver).toBe(true);
  expect(JSON.parse(readFileSync(lock, "utf8"))).toMatchObject({ pid: process.pid, command: "after a kill" });
  taken.release();
  expect(existsSync(lock)).toBe(false);

  // Killed between create and write: an empty file.
  writeFileSync(lock, "");
  const afterTorn = takeGrowLock(dir, "after a torn lock");
  expect(afterTorn.tookOver).toBe(true);
  afterTorn.release();

  // A live pid that started at another time is not the holder: its lock is stale.
  const other = Bun.spawn(["sleep", "30"]);
  try {
    writeFileSync(lock, JSON.stringify({ pid: other.pid, start: "1", since: new Date().toISOString(), command: "org grow" }));
    const reused = takeGrowLock(dir, "pid reused");
    expect(reused.tookOver).toBe(true);
    reused.release();
  } finally {
    other.kill("SIGKILL");
  }
});

test("a lock that is a link is refused, not followed", () => {
  const { dir, lock } = workspace();
  const target = join(base, "elsewhere");
  writeFileSync(target, "keep");
  symlinkSync(target, lock);
  expect(() => takeGrowLock(dir, "x")).toThrow("it is a symbolic link");
  expect(readFileSync(target, "utf8")).toBe("keep");
});
