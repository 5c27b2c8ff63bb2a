import { expect, test } from "bun:test";
import { acceptChange } from "./accept-change.ts";
import type { ChangeSet, FileChange } from "./change-set.ts";
import { checkChangeSet } from "./check-change-set.ts";

const text = (path: string): FileChange => ({
  path,
  status: "added",
  after: { type: "file", mode: 0o644, size: 2, content: new TextEncoder().encode("x\n") },
});

/** A command's change whose change set counts how often it was read. */
function commandChange(changes: FileChange[], refused?: string) {
  let reads = 0;
  const changeSet = (): ChangeSet => {
    reads += 1;
    return { changes };
  };
  return { change: { paths: changes.map((change) => change.path), changeSet, ...(refused !== undefined ? { refused } : {}) }, reads: () => reads };
}

test("a change the view refused stays refused, with its own reason, and nothing of it is read", () => {
  const { change, reads } = commandChange([text("a.txt")], "the change was refused whole; nothing of it was applied: the copy is gone");
  expect(acceptChange(change, {})).toEqual({ ok: false, message: "the change was refused whole; nothing of it was applied: the copy is gone" });
  expect(reads()).toBe(0);
});

test("a change of more files than limits.patchFiles is refused before any of them is read", () => {
  const { change, reads } = commandChange(Array.from({ length: 11 }, (_, index) => text(`f${index}.txt`)));
  const accepted = acceptChange(change, { limits: { patchBytes: 1024, patchFiles: 10 } });
  expect(accepted).toEqual({
    ok: false,
    message:
      "the change was refused whole; nothing of it was applied:\n- it touches 11 files, more than limits.patchFiles (10); make a smaller change",
  });
  expect(reads()).toBe(0);
});

test("otherwise the change set is what checkChangeSet says of it under the same rules: refused with its message, or kept whole", () => {
  const rules = { secretPaths: ["*.pem"], protectedPaths: [".git/**", "**/.git/**", ".env*", "notes.md"] };
  const verdicts: boolean[] = [];
  for (const paths of [
    ["src/a.ts", ".env"],
    ["docs/b.md", "sub/.git/config"],
    ["src/a.ts", "README.md"],
    // Refused by these rules alone (the defaults let notes.md be written), and let through by them alone (the
    // defaults refuse .npmrc): the rules are the caller's, never the defaults.
    ["notes.md"],
    [".npmrc"],
  ]) {
    const { change, reads } = commandChange(paths.map(text));
    const check = checkChangeSet({ changes: paths.map(text) }, rules);
    expect(acceptChange(change, rules)).toEqual(
      check.ok ? { ok: true, changeSet: { changes: paths.map(text) } } : { ok: false, message: check.message },
    );
    expect(reads()).toBe(1);
    verdicts.push(check.ok);
  }
  expect(verdicts).toEqual([false, false, true, false, true]);
});
