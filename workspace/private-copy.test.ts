import { afterAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyChangedPaths, openPrivateCopy, refreshPrivateCopy, takeChangeSet, workspaceChangedPaths } from "./private-copy.ts";
import { measureTree } from "../sandbox/measure-tree.ts";
import { SPARE_NAME } from "./spare-copy.ts";
import { heldBySnapshot } from "./tree-snapshot.ts";
import { COPIES_DIR, WorkspaceCopies } from "./workspace-copies.ts";

const root = mkdtempSync(join(tmpdir(), "org-private-copy-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("a private copy", () => {
  test("copies the workspace without .org and .git, not linked; tells its own changes from the user's", () => {
    const workspaceDir = join(root, "ws");
    mkdirSync(join(workspaceDir, "src"), { recursive: true });
    mkdirSync(join(workspaceDir, ".org"), { recursive: true });
    mkdirSync(join(workspaceDir, ".git"), { recursive: true });
    writeFileSync(join(workspaceDir, "src/a.ts"), "a\n");
    writeFileSync(join(workspaceDir, "b.txt"), "b\n");
    writeFileSync(join(workspaceDir, ".org/secret"), "s\n");
    const copy = openPrivateCopy({ workspaceDir, copyDir: join(root, "copy"), secretPaths: [] });
    expect(readFileSync(join(copy.copyDir, "src/a.ts"), "utf8")).toBe("a\n");
    expect(existsSync(join(copy.copyDir, ".org"))).toBe(false);
    expect(existsSync(join(copy.copyDir, ".git"))).toBe(false);
    expect(statSync(join(copy.copyDir, "b.txt")).ino).not.toBe(statSync(join(workspaceDir, "b.txt")).ino);

    writeFileSync(join(copy.copyDir, "src/a.ts"), "a2\n");
    unlinkSync(join(copy.copyDir, "b.txt"));
    writeFileSync(join(copy.copyDir, "c.txt"), "c\n");
    expect(copyChangedPaths(copy)).toEqual(["b.txt", "c.txt", "src/a.ts"]);
    expect(takeChangeSet(copy).changes.map((change) => `${change.status} ${change.path}`)).toEqual([
      "deleted b.txt",
      "added c.txt",
      "modified src/a.ts",
    ]);
    expect(workspaceChangedPaths(copy, ["src/a.ts", "b.txt"])).toEqual([]);
    writeFileSync(join(workspaceDir, "b.txt"), "the user's edit\n");
    expect(workspaceChangedPaths(copy, ["src/a.ts", "b.txt"])).toEqual(["b.txt"]);

    refreshPrivateCopy(copy);
    expect(readFileSync(join(copy.copyDir, "src/a.ts"), "utf8")).toBe("a\n");
    expect(readFileSync(join(copy.copyDir, "b.txt"), "utf8")).toBe("the user's edit\n");
    expect(existsSync(join(copy.copyDir, "c.txt"))).toBe(false);
    expect(copyChangedPaths(copy)).toEqual([]);
  });
});

describe("keeping the copy level costs what changed, not the workspace", () => {
  /** Each file of the copy and its inode: a file org copied again gets a new one. */
  const inodes = (dir: string, paths: string[]): Record<string, number> =>
    Object.fromEntries(paths.map((path) => [path, statSync(join(dir, path)).ino]));

  test("a refresh copies again only the paths the user or the command changed; folders a command removed or made are put back", () => {
    const workspaceDir = join(root, "level");
    mkdirSync(join(workspaceDir, "lib/deep"), { recursive: true });
    for (const name of ["one", "two", "three"]) writeFileSync(join(workspaceDir, name), `${name}\n`);
    writeFileSync(join(workspaceDir, "lib/deep/x"), "x\n");
    const copy = openPrivateCopy({ workspaceDir, copyDir: join(root, "level-copy"), secretPaths: [] });
    const before = inodes(copy.copyDir, ["one", "two", "three"]);

    writeFileSync(join(workspaceDir, "one"), "the user's one\n");
    writeFileSync(join(copy.copyDir, "two"), "the command's two\n");
    rmSync(join(copy.copyDir, "lib"), { recursive: true });
    mkdirSync(join(copy.copyDir, "made/inside"), { recursive: true });
    writeFileSync(join(copy.copyDir, "made/inside/y"), "y\n");
    expect(copyChangedPaths(copy)).toEqual(["lib/deep/x", "made/inside/y", "two"]);
    refreshPrivateCopy(copy);

    expect(readFileSync(join(copy.copyDir, "one"), "utf8")).toBe("the user's one\n");
    expect(readFileSync(join(copy.copyDir, "two"), "utf8")).toBe("two\n");
    expect(readFileSync(join(copy.copyDir, "lib/deep/x"), "utf8")).toBe("x\n");
    expect(existsSync(join(copy.copyDir, "made"))).toBe(false);
    const after = inodes(copy.copyDir, ["one", "two", "three"]);
    expect(after.three).toBe(before.three as number);
    expect(copyChangedPaths(copy)).toEqual([]);

    // Without being told what the command changed (a call that never reported back), the refresh finds it itself:
    // a refresh hands the copy out, and what the command then does is unknown until copyChangedPaths.
    refreshPrivateCopy(copy);
    writeFileSync(join(copy.copyDir, "three"), "changed unseen\n");
    refreshPrivateCopy(copy);
    expect(readFileSync(join(copy.copyDir, "three"), "utf8")).toBe("three\n");
    expect(statSync(join(copy.copyDir, "one")).ino).toBe(after.one as number);
  });

  test("a closed session's copy is the next session's start: only what changed since is copied, a copy touched meanwhile is not trusted, and one spare is kept", () => {
    const workspaceDir = join(root, "spare");
    mkdirSync(workspaceDir);
    chmodSync(workspaceDir, 0o755);
    for (const name of ["kept", "edited", "tampered"]) writeFileSync(join(workspaceDir, name), `${name}\n`);
    const copies = new WorkspaceCopies();
    const first = copies.sessionCopy(workspaceDir, "first", []);
    const kept = statSync(join(first.copyDir, "kept")).ino;
    writeFileSync(join(first.copyDir, "edited"), "a command's edit, never applied\n");
    copyChangedPaths(first);
    copies.release(workspaceDir, "first");
    expect(existsSync(first.copyDir)).toBe(false);
    const spare = join(workspaceDir, COPIES_DIR, SPARE_NAME, "tree");
    expect(existsSync(spare)).toBe(true);

    // Meanwhile the user edits a file, and something writes into the waiting spare, keeping size and mtime.
    writeFileSync(join(workspaceDir, "edited"), "the user's edit\n");
    const tamperedAt = statSync(join(spare, "tampered"));
    writeFileSync(join(spare, "tampered"), "TAMPERED\n");
    utimesSync(join(spare, "tampered"), tamperedAt.atime, tamperedAt.mtime);

    const second = copies.sessionCopy(workspaceDir, "second", []);
    expect(existsSync(join(workspaceDir, COPIES_DIR, SPARE_NAME))).toBe(false);
    expect(statSync(join(second.copyDir, "kept")).ino).toBe(kept);
    expect(readFileSync(join(second.copyDir, "edited"), "utf8")).toBe("the user's edit\n");
    expect(readFileSync(join(second.copyDir, "tampered"), "utf8")).toBe("tampered\n");
    expect(copyChangedPaths(second)).toEqual([]);

    // Two sessions closing leave one spare, not two copies.
    copies.sessionCopy(workspaceDir, "third", []);
    copies.release(workspaceDir, "second");
    copies.release(workspaceDir, "third");
    expect(readdirSync(join(workspaceDir, COPIES_DIR))).toEqual([SPARE_NAME]);
  });
});

describe("a link a command put in place of a folder", () => {
  test("is not followed: what lay below the folder counts as deleted, and bringing the copy level touches nothing the link points at", () => {
    const workspaceDir = join(root, "swapped");
    mkdirSync(join(workspaceDir, "src"), { recursive: true });
    writeFileSync(join(workspaceDir, "src/keep.txt"), "the project's file\n");
    // A folder outside the copy holding a file of the same name: the user's, elsewhere on the host.
    const elsewhere = join(root, "swapped-elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "keep.txt"), "a host file the sandbox cannot see\n");
    const copy = openPrivateCopy({ workspaceDir, copyDir: join(root, "swapped-copy"), secretPaths: [] });

    // The command (in the sandbox) replaces src/ with a link whose target, read on the host, is that folder.
    rmSync(join(copy.copyDir, "src"), { recursive: true });
    symlinkSync(elsewhere, join(copy.copyDir, "src"));

    const changes = takeChangeSet(copy).changes;
    expect(changes.map((change) => `${change.status} ${change.path}`)).toEqual(["added src", "deleted src/keep.txt"]);
    expect(
      JSON.stringify(changes.map((change) => Buffer.from(change.after?.type === "file" ? (change.after.content ?? []) : []).toString())),
    ).not.toContain("host file");

    refreshPrivateCopy(copy);
    expect(readFileSync(join(elsewhere, "keep.txt"), "utf8")).toBe("a host file the sandbox cannot see\n");
    expect(lstatSync(join(copy.copyDir, "src")).isDirectory()).toBe(true);
    expect(readFileSync(join(copy.copyDir, "src/keep.txt"), "utf8")).toBe("the project's file\n");
    expect(copyChangedPaths(copy)).toEqual([]);
  });
});

test("what a copy holds is known from its baseline, counted as the watchdog walks it: its bound costs no walk", () => {
  const workspaceDir = join(root, "held");
  mkdirSync(join(workspaceDir, "src/deep"), { recursive: true });
  writeFileSync(join(workspaceDir, "src/a.ts"), "a\n".repeat(5000));
  writeFileSync(join(workspaceDir, "src/deep/b.bin"), Buffer.alloc(70_000, 1));
  symlinkSync("src/a.ts", join(workspaceDir, "short"));
  symlinkSync(`src/${"d".repeat(200)}`, join(workspaceDir, "long"));
  const copy = openPrivateCopy({ workspaceDir, copyDir: join(root, "held-copy"), secretPaths: [] });
  writeFileSync(join(copy.copyDir, "src/new.txt"), "new\n".repeat(3000));
  refreshPrivateCopy(copy);
  const walked = measureTree(copy.copyDir, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  expect(heldBySnapshot(copy.copyBaseline)).toEqual({ bytes: walked.bytes, entries: walked.entries });
});
