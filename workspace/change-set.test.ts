import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gitSync } from "../testing/temp-git-repo.ts";
import { computeChangeSet } from "./change-set.ts";
import { diffLines } from "./line-diff.ts";
import { diffStats, unifiedDiff } from "./unified-diff.ts";

const root = mkdtempSync(join(tmpdir(), "org-change-set-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe("computeChangeSet and unifiedDiff", () => {
  test("added, modified, deleted, binary, executable bit, link and a last line without newline: git apply makes the changed tree", () => {
    const lines = Array.from({ length: 40 }, (_, index) => `line ${index}\n`);
    const base = {
      "src/main.ts": lines.join(""),
      "gone.txt": "bye\n",
      "bin.dat": new Uint8Array([0, 1, 2, 3, 255]),
      "run.sh": "echo hi\n",
      "tail.txt": "no newline",
      "with space.md": "a\n",
    };
    const before = tree("before", base);
    const after = tree("after", base);
    gitSync(before, ["init", "--quiet"]);
    const edited = [...lines];
    edited[3] = "line three\n";
    edited[30] = "line thirty\n";
    edited.splice(20, 0, "inserted\n");
    writeFileSync(join(after, "src/main.ts"), edited.join(""));
    unlinkSync(join(after, "gone.txt"));
    mkdirSync(join(after, "new"));
    writeFileSync(join(after, "new/added.txt"), "fresh\n");
    writeFileSync(join(after, "bin.dat"), new Uint8Array([0, 9, 9, 9, 9, 9, 9, 7]));
    chmodSync(join(after, "run.sh"), 0o755);
    writeFileSync(join(after, "tail.txt"), "no newline, changed");
    writeFileSync(join(after, "with space.md"), "b\n");
    symlinkSync("src/main.ts", join(after, "link"));

    const changeSet = computeChangeSet({ baseDir: before, changedDir: after });
    expect(changeSet.changes.map((change) => [change.path, change.status])).toEqual([
      ["bin.dat", "modified"],
      ["gone.txt", "deleted"],
      ["link", "added"],
      ["new/added.txt", "added"],
      ["run.sh", "mode"],
      ["src/main.ts", "modified"],
      ["tail.txt", "modified"],
      ["with space.md", "modified"],
    ]);
    const diff = unifiedDiff(changeSet);
    expect(diff).toContain("@@ -1,7 +1,7 @@\n line 0\n line 1\n line 2\n-line 3\n+line three\n");
    expect(diff).toContain("old mode 100644\nnew mode 100755\n");
    expect(diff).toContain("\\ No newline at end of file\n");
    expect(diffStats(changeSet)).toEqual({ files: 8, added: 7, removed: 5 });

    writeFileSync(join(root, "change.patch"), diff);
    gitSync(before, ["apply", "--check", join(root, "change.patch")]);
    gitSync(before, ["apply", join(root, "change.patch")]);
    rmSync(join(before, ".git"), { recursive: true });
    expect(computeChangeSet({ baseDir: before, changedDir: after }).changes).toEqual([]);
    expect(readFileSync(join(before, "bin.dat"))).toEqual(Buffer.from([0, 9, 9, 9, 9, 9, 9, 7]));
  });

  test("a file over the read bound is listed without its content", () => {
    const before = tree("big-before", { "a.txt": "x" });
    const after = tree("big-after", { "a.txt": "y".repeat(2000) });
    const [change] = computeChangeSet({ baseDir: before, changedDir: after, maxFileBytes: 1000 }).changes;
    expect(change?.after).toEqual({ type: "file", mode: expect.any(Number), size: 2000 });
    expect(() => unifiedDiff({ changes: change ? [change] : [] })).toThrow(/larger than was read/);
  });
});

describe("diffLines", () => {
  test("finds the shortest script, and beyond its bound still a correct one", () => {
    const script = diffLines(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]);
    expect(script.map((edit) => edit.op + edit.line).join(",")).toBe(" a,-b,+x, c, d,+e");
    const before = Array.from({ length: 50 }, (_, index) => `${index}`);
    const after = before.map((line) => `${line}!`);
    const long = diffLines(before, after, 20);
    expect(long.filter((edit) => edit.op === "-").map((edit) => edit.line)).toEqual(before);
    expect(long.filter((edit) => edit.op === "+").map((edit) => edit.line)).toEqual(after);
  });
});
