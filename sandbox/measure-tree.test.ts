import { afterAll, expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measureTree, measureTreeOffThread } from "./measure-tree.ts";

const root = mkdtempSync(join(tmpdir(), "org-measure-tree-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fixture(name: string): string {
  const directory = join(root, name);
  mkdirSync(join(directory, "a", "b"), { recursive: true });
  writeFileSync(join(directory, "a", "b", "data"), Buffer.alloc(64 * 1024, 1));
  symlinkSync("/", join(directory, "a", "up"));
  return directory;
}

test("counts blocks and entries, never follows a symlink, and a file with several links once", () => {
  const directory = fixture("links");
  const alone = measureTree(directory, 1 << 30, 1000);
  expect(alone).toEqual({ bytes: expect.any(Number), entries: 4, directories: 2 });
  for (let copy = 0; copy < 5; copy += 1) linkSync(join(directory, "a", "b", "data"), join(directory, `link${copy}`));
  const linked = measureTree(directory, 1 << 30, 1000);
  expect(linked.entries).toBe(9);
  expect(linked.bytes).toBe(alone.bytes);
  expect(alone.bytes).toBeGreaterThanOrEqual(64 * 1024);
  expect(alone.bytes).toBeLessThan(1024 * 1024);
});

test("walks names that are not UTF-8", () => {
  const directory = fixture("bytes");
  const plain = measureTree(directory, 1 << 30, 1000);
  const odd = Buffer.concat([Buffer.from(`${directory}/`), Buffer.from([0xff, 0xfe])]);
  mkdirSync(odd);
  writeFileSync(Buffer.concat([odd, Buffer.from("/big")]), Buffer.alloc(256 * 1024, 1));
  const measured = measureTree(directory, 1 << 30, 1000);
  expect(measured.bytes - plain.bytes).toBeGreaterThanOrEqual(256 * 1024);
  expect(measured.unmeasurable).toBeUndefined();
});

test("names an entry nested past PATH_MAX as unmeasurable instead of skipping what is below it", () => {
  const directory = fixture("deep");
  const name = "d".repeat(250);
  // A relative mkdir has no length limit; only the absolute path the walk builds passes PATH_MAX.
  const made = Bun.spawnSync(["/bin/bash", "-c", `cd '${directory}' && for i in $(seq 20); do mkdir ${name} && cd ${name} || exit 1; done`]);
  expect(made.exitCode).toBe(0);
  const measured = measureTree(directory, 1 << 30, 1000);
  expect(measured.unmeasurable).toMatch(/^d{60}…d{40} \(\d+ characters\): ENAMETOOLONG$/);
});

test("stops counting once a limit is passed", () => {
  const directory = fixture("limit");
  for (let file = 0; file < 50; file += 1) writeFileSync(join(directory, `f${file}`), "x");
  expect(measureTree(directory, 1 << 30, 10).entries).toBe(11);
});

test("off the calling thread, the worker gives the same measure, and each of several requests its own", async () => {
  const directories = ["links", "bytes", "limit"].map((name) => join(root, name));
  const measures = await Promise.all(directories.map((directory) => measureTreeOffThread(directory, 1 << 30, 1000)));
  expect(measures).toEqual(directories.map((directory) => measureTree(directory, 1 << 30, 1000)));
});
