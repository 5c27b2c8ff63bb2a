import { afterAll, describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listingSettled, measureTree, TreeListings, TreeMeasurer, unmeasurableEntry } from "./measure-tree.ts";

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
  const measurer = new TreeMeasurer();
  const measures = await Promise.all(directories.map((directory) => measurer.offThread(directory, 1 << 30, 1000, { inlineEntries: 0 })));
  expect(measures).toEqual(directories.map((directory) => measureTree(directory, 1 << 30, 1000)));
});

test("before the worker is started, a small tree is measured on the calling thread at once", async () => {
  const directory = fixture("inline");
  for (let file = 0; file < 30; file += 1) writeFileSync(join(directory, `f${file}`), "x");
  const whole = measureTree(directory, 1 << 30, 1000);
  // A fresh process, so no worker is running yet: the measure is there after one microtask turn.
  const script = [
    `import { TreeMeasurer } from ${JSON.stringify(join(import.meta.dir, "measure-tree.ts"))};`,
    "const measurer = new TreeMeasurer();",
    "let settled;",
    `const root = ${JSON.stringify(directory)};`,
    `measurer.offThread(root, 1 << 30, 1000, { inlineEntries: ${whole.entries} }).then((measure) => { settled = measure; });`,
    "await Promise.resolve();",
    "const inline = settled;",
    // One entry short of the tree: it goes to the worker, and the worker gives the same measure.
    `const offThread = await measurer.offThread(root, 1 << 30, 1000, { inlineEntries: ${whole.entries - 1} });`,
    "const limited = await measurer.offThread(root, 1 << 30, 10);",
    "console.log(JSON.stringify({ inline, offThread, limitedEntries: limited.entries }));",
  ].join("\n");
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (proc.exitCode !== 0) throw new Error(stderr);
  expect(JSON.parse(stdout)).toEqual({ inline: whole, offThread: whole, limitedEntries: 11 });
});

describe("reusing listings of unchanged directories", () => {
  const settle = () => Bun.sleep(120);
  const listings = new TreeListings();
  const walk = (directory: string) => measureTree(directory, 1 << 30, 100_000, { listings });

  test("a settled tree is walked again without reading its directories, and gives the same measure", async () => {
    const directory = fixture("reuse-quiet");
    for (let sub = 0; sub < 20; sub += 1) mkdirSync(join(directory, `d${sub}`));
    await settle();
    const first = walk(directory);
    expect(first.directoriesRead).toBe(23);
    const again = walk(directory);
    expect(again).toEqual({ ...first, directoriesRead: 0 });
    expect(again.bytes).toBe(measureTree(directory, 1 << 30, 100_000).bytes);
  });

  test("a file added, a file removed, a directory replaced: each read again and counted", async () => {
    const directory = fixture("reuse-changes");
    for (let sub = 0; sub < 5; sub += 1) writeFileSync(join(directory, `d${sub}`), "");
    mkdirSync(join(directory, "swap"));
    writeFileSync(join(directory, "swap", "old"), Buffer.alloc(64 * 1024, 1));
    await settle();
    walk(directory);
    writeFileSync(join(directory, "a", "b", "new"), Buffer.alloc(128 * 1024, 1));
    const added = walk(directory);
    expect(added.directoriesRead).toBe(1);
    expect(added.bytes).toBe(measureTree(directory, 1 << 30, 100_000).bytes);
    rmSync(join(directory, "a", "b", "data"));
    const removed = walk(directory);
    expect(removed.bytes).toBe(measureTree(directory, 1 << 30, 100_000).bytes);
    rmSync(join(directory, "swap"), { recursive: true });
    mkdirSync(join(directory, "swap"));
    writeFileSync(join(directory, "swap", "other"), Buffer.alloc(256 * 1024, 1));
    const swapped = walk(directory);
    expect(swapped.entries).toBe(measureTree(directory, 1 << 30, 100_000).entries);
    expect(swapped.bytes).toBe(measureTree(directory, 1 << 30, 100_000).bytes);
  });

  test("winding a directory's mtime back after adding a file does not hide the file", async () => {
    const directory = fixture("reuse-mtime");
    await settle();
    walk(directory);
    const listed = join(directory, "a", "b");
    const before = statSync(listed, { bigint: true }).mtimeNs;
    writeFileSync(join(listed, "hidden"), Buffer.alloc(512 * 1024, 1));
    const stamp = `@${before / 1_000_000_000n}.${String(before % 1_000_000_000n).padStart(9, "0")}`;
    expect(Bun.spawnSync(["touch", "-m", "-d", stamp, listed]).exitCode).toBe(0);
    expect(statSync(listed, { bigint: true }).mtimeNs).toBe(before);
    const measured = walk(directory);
    expect(measured.bytes).toBe(measureTree(directory, 1 << 30, 100_000).bytes);
    expect(measured.bytes).toBeGreaterThanOrEqual(512 * 1024);
  });

  test("a listing is trusted only once its directory's ctime lies a clock tick's margin before the read", () => {
    const readAtMs = 1_800_000_000_000;
    const ns = (ms: number) => BigInt(ms) * 1_000_000n + 123n;
    expect(listingSettled(ns(readAtMs - 5), readAtMs)).toBe(false);
    expect(listingSettled(ns(readAtMs - 40), readAtMs)).toBe(false);
    expect(listingSettled(ns(readAtMs - 60), readAtMs)).toBe(true);
    // Whole-second timestamps: a change later in the same second keeps the ctime.
    const wholeSeconds = (ms: number) => (BigInt(ms) / 1000n) * 1_000_000_000n;
    expect(listingSettled(wholeSeconds(readAtMs - 900), readAtMs)).toBe(false);
    expect(listingSettled(wholeSeconds(readAtMs - 1500), readAtMs)).toBe(false);
    expect(listingSettled(wholeSeconds(readAtMs - 2500), readAtMs)).toBe(true);
  });

  test("a directory changed moments before it was read is read again, however soon it changes next", () => {
    const directory = fixture("reuse-racy");
    for (let file = 0; file < 20; file += 1) {
      walk(directory);
      writeFileSync(join(directory, "a", `f${file}`), "x");
      expect(walk(directory).entries).toBe(5 + file);
    }
  });
});

test("unmeasurableEntry names where a walk failed, shortened, and lets a vanished entry pass", () => {
  const root = Buffer.from("/scratch-root");
  const failure = (code: string) => Object.assign(new Error(code), { code });
  expect(unmeasurableEntry(root, Buffer.from("/scratch-root/a/b"), failure("EACCES"))).toBe("a/b: EACCES");
  expect(unmeasurableEntry(root, root, failure("EACCES"))).toBe(".: EACCES");
  expect(unmeasurableEntry(root, Buffer.from("/scratch-root/gone"), failure("ENOENT"))).toBeUndefined();
  expect(unmeasurableEntry(root, Buffer.from("/scratch-root/file/x"), failure("ENOTDIR"))).toBeUndefined();
  const deep = `/scratch-root/${"d/".repeat(100)}end`;
  expect(unmeasurableEntry(root, Buffer.from(deep), failure("ENAMETOOLONG"))).toMatch(/^(d\/){30}…(\/d){18}\/end \(203 characters\): ENAMETOOLONG$/);
  expect(unmeasurableEntry(root, Buffer.from("/scratch-root/x"), "not an error")).toBe("x: not an error");
});
