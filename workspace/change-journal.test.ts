import { afterAll, describe, expect, setSystemTime, test } from "bun:test";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChangeConflictError } from "./apply-change-set.ts";
import { computeChangeSet } from "./change-set.ts";
import { applyAndRecord, CHANGES_DIR, ChangeJournalError, ignoredChanges, listChanges, recordedPatch, undoLastChange } from "./change-journal.ts";
import { DEFAULT_PROTECTED_PATHS } from "./check-change-set.ts";

const root = mkdtempSync(join(tmpdir(), "org-change-journal-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

describe("the change journal", () => {
  test("applies and records a change; undo restores every byte, newest first; a file changed since refuses the undo unless forced", () => {
    const workspace = join(root, "ws");
    const copy = join(root, "copy");
    write(workspace, { "src/a.ts": "a\n", "gone.txt": "old\n", "keep.bin": "\0bin" });
    write(copy, { "src/a.ts": "a changed\n", "new/b.txt": "b\n", "keep.bin": "\0bin" });
    const first = applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }), {
      sessionId: "s1",
      turnId: "t4",
      replyId: "r4",
      persona: "agent",
    });
    expect(readFileSync(join(workspace, "src/a.ts"), "utf8")).toBe("a changed\n");
    expect(existsSync(join(workspace, "gone.txt"))).toBe(false);
    expect(readFileSync(join(workspace, "new/b.txt"), "utf8")).toBe("b\n");
    expect(first).toMatchObject({ sessionId: "s1", turnId: "t4", replyId: "r4", persona: "agent", stats: { files: 3, added: 2, removed: 2 } });
    expect(recordedPatch(workspace, first)).toContain("+a changed\n");

    write(copy, { "src/a.ts": "a third\n" });
    const second = applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
    expect(listChanges(workspace).map((record) => record.id)).toEqual([second.id, first.id]);

    write(workspace, { "src/a.ts": "the user's edit\n" });
    expect(() => undoLastChange(workspace)).toThrow(ChangeConflictError);
    expect(() => undoLastChange(workspace)).toThrow(/src\/a\.ts/);
    expect(readFileSync(join(workspace, "src/a.ts"), "utf8")).toBe("the user's edit\n");
    expect(undoLastChange(workspace, { force: true }).id).toBe(second.id);
    expect(readFileSync(join(workspace, "src/a.ts"), "utf8")).toBe("a changed\n");
    expect(undoLastChange(workspace).id).toBe(first.id);
    expect(readFileSync(join(workspace, "src/a.ts"), "utf8")).toBe("a\n");
    expect(readFileSync(join(workspace, "gone.txt"), "utf8")).toBe("old\n");
    expect(existsSync(join(workspace, "new"))).toBe(false);
    expect(() => undoLastChange(workspace)).toThrow(/no applied change to undo/);
  });

  test("a change cut short (org killed mid-apply) is undone whole without --force: a file already as the undo makes it is no conflict", () => {
    const workspace = join(root, "ws-cut");
    const copy = join(root, "copy-cut");
    write(workspace, { "one.txt": "one\n", "two.txt": "two\n" });
    write(copy, { "one.txt": "one changed\n", "two.txt": "two changed\n", "three.txt": "three\n" });
    applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
    // The record was made before the first write; the kill came after one.txt, before two.txt and three.txt.
    write(workspace, { "two.txt": "two\n" });
    rmSync(join(workspace, "three.txt"));
    undoLastChange(workspace);
    expect(readFileSync(join(workspace, "one.txt"), "utf8")).toBe("one\n");
    expect(readFileSync(join(workspace, "two.txt"), "utf8")).toBe("two\n");
    expect(existsSync(join(workspace, "three.txt"))).toBe(false);
    // A file that is neither side is still the user's edit, and still refuses.
    applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
    write(workspace, { "two.txt": "the user's two\n" });
    expect(() => undoLastChange(workspace)).toThrow(/two\.txt/);
  });

  test("a link planted on the way is replaced, never written through", () => {
    const workspace = join(root, "ws-link");
    const outside = join(root, "outside");
    write(workspace, { "x.txt": "x\n" });
    write(outside, { "target.txt": "precious\n" });
    symlinkSync(outside, join(workspace, "dir"));
    symlinkSync(join(outside, "target.txt"), join(workspace, "file.txt"));
    const changeSet = {
      changes: [
        {
          path: "file.txt",
          status: "modified" as const,
          before: { type: "symlink" as const, target: join(outside, "target.txt") },
          after: { type: "file" as const, mode: 0o644, size: 2, content: new TextEncoder().encode("y\n") },
        },
      ],
    };
    applyAndRecord(workspace, changeSet);
    expect(readFileSync(join(outside, "target.txt"), "utf8")).toBe("precious\n");
    expect(readFileSync(join(workspace, "file.txt"), "utf8")).toBe("y\n");
    const through = {
      changes: [
        {
          path: "dir/target.txt",
          status: "modified" as const,
          before: { type: "file" as const, mode: 0o644, size: 9, content: new TextEncoder().encode("precious\n") },
          after: { type: "file" as const, mode: 0o644, size: 2, content: new TextEncoder().encode("z\n") },
        },
      ],
    };
    expect(() => applyAndRecord(workspace, through)).toThrow();
    expect(readFileSync(join(outside, "target.txt"), "utf8")).toBe("precious\n");
  });

  test("records go by their own sequence, not their names' dates: a clock set back does not reorder the undo", () => {
    const workspace = join(root, "ws-clock");
    const copy = join(root, "copy-clock");
    write(workspace, { "a.txt": "1\n" });
    write(copy, { "a.txt": "2\n" });
    const first = applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
    write(copy, { "a.txt": "3\n" });
    try {
      // The machine's clock went back a year: the second change's name sorts before the first's.
      setSystemTime(new Date(Date.now() - 365 * 24 * 3600 * 1000));
      const second = applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
      expect(second.id < first.id).toBe(true);
      expect([first.seq, second.seq]).toEqual([1, 2]);
      expect(listChanges(workspace).map((record) => record.id)).toEqual([second.id, first.id]);
    } finally {
      setSystemTime();
    }
    expect(undoLastChange(workspace).seq).toBe(2);
    expect(readFileSync(join(workspace, "a.txt"), "utf8")).toBe("2\n");
  });

  test("a record made for another .org (a clone's, an archive's) is ignored: listed as such, never undone", () => {
    const elsewhere = join(root, "ws-elsewhere");
    const copy = join(root, "copy-elsewhere");
    write(elsewhere, { ".npmrc": "registry=https://evil.example/\n" });
    mkdirSync(copy, { recursive: true });
    // Made where it was made: taking it back there writes .npmrc again.
    const made = applyAndRecord(elsewhere, computeChangeSet({ baseDir: elsewhere, changedDir: copy }));
    const workspace = join(root, "ws-cloned");
    mkdirSync(join(workspace, CHANGES_DIR), { recursive: true });
    cpSync(join(elsewhere, CHANGES_DIR, made.id), join(workspace, CHANGES_DIR, made.id), { recursive: true });
    // Renamed to sort first by date, as a planted one would be.
    cpSync(join(elsewhere, CHANGES_DIR, made.id), join(workspace, CHANGES_DIR, "29991231T000000-000-aaaaaa"), { recursive: true });
    const planted = join(workspace, CHANGES_DIR, "29991231T000000-000-aaaaaa", "change.json");
    writeFileSync(planted, readFileSync(planted, "utf8").replace(made.id, "29991231T000000-000-aaaaaa"));
    expect(listChanges(workspace)).toEqual([]);
    expect(ignoredChanges(workspace).sort()).toEqual([made.id, "29991231T000000-000-aaaaaa"].sort());
    expect(() => undoLastChange(workspace)).toThrow(/no applied change to undo/);
    expect(existsSync(join(workspace, ".npmrc"))).toBe(false);
    // The same folder moved keeps its records: the binding is the .org folder itself, not its path.
    const moved = join(root, "ws-moved");
    renameSync(elsewhere, moved);
    expect(listChanges(moved).map((record) => record.id)).toEqual([made.id]);
  });

  test("an undo is checked as a change is: one that would write a protected path or a link leading outside is refused whole", () => {
    const workspace = join(root, "ws-recheck");
    const copy = join(root, "copy-recheck");
    write(workspace, { "notes.md": "mine\n", "keep.txt": "k\n" });
    symlinkSync("../../shared", join(workspace, "shared"));
    mkdirSync(copy, { recursive: true });
    write(copy, { "keep.txt": "k\n" });
    // The change removed notes.md and the user's link that leads outside.
    applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: copy }));
    const rules = { protectedPaths: [...DEFAULT_PROTECTED_PATHS, "notes.md"] };
    expect(() => undoLastChange(workspace, { rules })).toThrow(ChangeJournalError);
    expect(() => undoLastChange(workspace, { rules })).toThrow(
      /"notes\.md": a protected path[\s\S]*"shared": a link to "\.\.\/\.\.\/shared", outside the workspace/,
    );
    expect(existsSync(join(workspace, "notes.md"))).toBe(false);
    expect(lstatSync(join(workspace, "shared"), { throwIfNoEntry: false })).toBeUndefined();
  });
});
