import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FreeSpaceSentinel } from "./free-space-sentinel.ts";

const dir = mkdtempSync(join(tmpdir(), "org-free-space-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `bytes` of random data (not sparse, not compressible) and makes the filesystem count it. */
function fill(name: string, bytes: number): void {
  const fd = openSync(join(dir, name), "w");
  try {
    const chunk = crypto.getRandomValues(new Uint8Array(1024 * 1024));
    for (let written = 0; written < bytes; written += chunk.length) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

describe("the free-space sentinel (sandbox/run-watchdog.ts's early walks)", () => {
  test("before its first rebase it asks for nothing", () => {
    const sentinel = new FreeSpaceSentinel(dir, 1024);
    expect(sentinel.freeBytes()).toBeGreaterThan(0);
    expect(sentinel.check(0)).toBeUndefined();
  });

  test("the disk losing more than scratch's headroom since the walk asks for a walk at once, then, credit spent, a spaced one", () => {
    const sentinel = new FreeSpaceSentinel(dir, 1024 * 1024);
    sentinel.rebase(sentinel.freeBytes(), 0);
    fill("big", 16 * 1024 * 1024);
    expect(sentinel.check(0)).toBe("walk");
    sentinel.spend(1e12);
    expect(sentinel.check(0)).toBe("schedule");
  });

  test("a directory it cannot stat gives no free space and asks for nothing", () => {
    const sentinel = new FreeSpaceSentinel(join(dir, "missing"), 1024);
    expect(sentinel.freeBytes()).toBeUndefined();
    sentinel.rebase(undefined, 0);
    expect(sentinel.check(0)).toBeUndefined();
  });
});
