import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyChangedPaths, openPrivateCopy, refreshPrivateCopy, takeChangeSet, workspaceChangedPaths } from "./private-copy.ts";

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
    const copy = openPrivateCopy({ workspaceDir, copyDir: join(root, "copy") });
    expect(readFileSync(join(copy.copyDir, "src/a.ts"), "utf8")).toBe("a\n");
    expect(existsSync(join(copy.copyDir, ".org"))).toBe(false);
    expect(existsSync(join(copy.copyDir, ".git"))).toBe(false);
    expect(statSync(join(copy.copyDir, "b.txt")).ino).not.toBe(statSync(join(workspaceDir, "b.txt")).ino);

    writeFileSync(join(copy.copyDir, "src/a.ts"), "a2\n");
    unlinkSync(join(copy.copyDir, "b.txt"));
    writeFileSync(join(copy.copyDir, "c.txt"), "c\n");
    expect(copyChangedPaths(copy)).toEqual(["b.txt", "c.txt", "src/a.ts"]);
    expect(takeChangeSet(copy).changes.map((change) => `${change.status} ${change.path}`)).toEqual(["deleted b.txt", "added c.txt", "modified src/a.ts"]);
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
