import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FreeSpaceSentinel, SENTINEL_MAX_MS, SENTINEL_MS } from "./free-space-sentinel.ts";

const dir = mkdtempSync(join(tmpdir(), "org-free-space-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the free-space sentinel (sandbox/run-watchdog.ts's early walks)", () => {
  test("before its first rebase it asks for nothing", () => {
    const sentinel = new FreeSpaceSentinel(dir, 1024);
    expect(sentinel.freeBytes()).toBeGreaterThan(0);
    expect(sentinel.check(0)).toBeUndefined();
  });

  // The disk's free space is set by the test: a shared disk's other writers and cleaners would move a real reading.
  test("the disk losing more than scratch's headroom since the walk asks for a walk at once, then, credit spent, a spaced one", () => {
    const sentinel = new ScriptedSentinel(dir, 1024 * 1024);
    sentinel.rebase(sentinel.free, 0);
    sentinel.free -= 16 * 1024 * 1024;
    expect(sentinel.check(0)).toBe("walk");
    sentinel.spend(1e12);
    expect(sentinel.check(0)).toBe("schedule");
  });

  // A walk that did not count deleted files still open (the sandbox ran on) must not forget what the disk lost before
  // it: walks every few milliseconds, each rebasing, let a writer into such files go on until the 200 ms poll.
  test("a walk that counted nothing held open only narrows the headroom: the loss before it still asks for a walk", () => {
    const sentinel = new ScriptedSentinel(dir, 48 * MiB);
    sentinel.rebase(sentinel.free, 0);
    sentinel.free -= 30 * MiB;
    expect(sentinel.check(0)).toBeUndefined();
    sentinel.narrow(sentinel.free, 0);
    sentinel.free -= 30 * MiB;
    expect(sentinel.check(0)).toBe("walk");
  });

  test("narrowing never widens the headroom, and shrinks it to what the tree has left", () => {
    const held = new ScriptedSentinel(dir, 48 * MiB);
    held.rebase(held.free, 40 * MiB);
    held.narrow(held.free, 0);
    held.free -= 10 * MiB;
    expect(held.check(0)).toBe("walk");
    const started = new ScriptedSentinel(dir, 48 * MiB);
    started.start();
    started.narrow(started.free, 40 * MiB);
    started.free -= 6 * MiB;
    expect(started.check(0)).toBeUndefined();
    started.free -= 4 * MiB;
    expect(started.check(0)).toBe("walk");
  });

  test("a directory it cannot stat gives no free space and asks for nothing", () => {
    const sentinel = new FreeSpaceSentinel(join(dir, "missing"), 1024);
    expect(sentinel.freeBytes()).toBeUndefined();
    sentinel.rebase(undefined, 0);
    expect(sentinel.check(0)).toBeUndefined();
  });
});

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A sentinel whose disk's free space the test sets: how long it waits is arithmetic on what it read. */
class ScriptedSentinel extends FreeSpaceSentinel {
  free = 100 * GiB;
  override freeBytes(): number {
    return this.free;
  }
}

describe("the free-space sentinel's wait between reads", () => {
  test("every SENTINEL_MS until a walk has measured the tree", () => {
    const sentinel = new ScriptedSentinel(dir, 512 * MiB);
    sentinel.start();
    sentinel.check(0);
    expect(sentinel.nextCheckMs()).toBe(SENTINEL_MS);
  });

  test("as long as the headroom left takes to write at 8 GiB a second, down to SENTINEL_MS, up to SENTINEL_MAX_MS", async () => {
    const sentinel = new ScriptedSentinel(dir, 512 * MiB);
    sentinel.rebase(sentinel.free, 0);
    sentinel.check(0);
    expect(sentinel.nextCheckMs()).toBeCloseTo(62.5, 6);
    // Half the headroom gone over at least 60 ms (no faster than 4.3 GiB a second): half the wait.
    await Bun.sleep(60);
    sentinel.free -= 256 * MiB;
    expect(sentinel.check(0)).toBeUndefined();
    expect(sentinel.nextCheckMs()).toBeCloseTo(31.25, 6);
    await Bun.sleep(60);
    sentinel.free -= 250 * MiB;
    sentinel.check(0);
    expect(sentinel.nextCheckMs()).toBe(SENTINEL_MS);
    const roomy = new ScriptedSentinel(dir, 64 * GiB);
    roomy.rebase(roomy.free, 0);
    roomy.check(0);
    expect(roomy.nextCheckMs()).toBe(SENTINEL_MAX_MS);
  });

  test("a disk losing space faster than 8 GiB a second is taken at its own pace", () => {
    const sentinel = new ScriptedSentinel(dir, 1536 * MiB);
    sentinel.rebase(sentinel.free, 0);
    const before = performance.now();
    sentinel.check(0);
    sentinel.free -= GiB;
    sentinel.check(0);
    // It lost a GiB within `elapsed` ms: the half GiB left lasts at most half that at its pace (62.5 ms at 8 GiB/s).
    const elapsed = performance.now() - before;
    expect(sentinel.nextCheckMs()).toBeLessThanOrEqual(Math.max(SENTINEL_MS, elapsed / 2));
  });

  test("a read from before the walk that shows more free space than the walk began with does not lengthen the wait", () => {
    const sentinel = new ScriptedSentinel(dir, 512 * MiB);
    sentinel.start();
    sentinel.check(0);
    // The walk began once the disk had lost 100 MiB more than that read saw, and counted what scratch held then.
    sentinel.rebase(sentinel.free - 100 * MiB, 0);
    expect(sentinel.nextCheckMs()).toBeCloseTo(62.5, 6);
  });
});
