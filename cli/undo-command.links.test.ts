// Newcomer review, item 7: `org undo --force` over a workspace whose paths changed kind since the change (a folder
// became a link out, a folder became a file or a FIFO, a file became a folder that holds files) refuses in one line
// naming the path and what to do, exit 1; never a stack trace, never a write outside. Real files, links and FIFOs in
// a throw-away workspace, the change recorded as the room records one, `org undo` a real process.
import { afterAll, expect, test } from "bun:test";
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOrgProcess } from "../testing/org-process.ts";
import { applyAndRecord } from "../workspace/change-journal.ts";
import { computeChangeSet } from "../workspace/change-set.ts";

const base = mkdtempSync(join(tmpdir(), "org-undo-links-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A workspace with `before` in it, the change to `after` applied and recorded as the room does. */
function changedWorkspace(name: string, before: Record<string, string>, after: Record<string, string>): string {
  const workspace = join(base, name);
  const write = (root: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };
  mkdirSync(workspace);
  write(workspace, { "README.md": "a project\n", ...before });
  const changed = join(base, `${name}-changed`);
  cpSync(workspace, changed, { recursive: true });
  write(changed, after);
  applyAndRecord(workspace, computeChangeSet({ baseDir: workspace, changedDir: changed }), { persona: "agent" });
  rmSync(changed, { recursive: true });
  return workspace;
}

/** A folder outside every workspace, with a file the undo must neither read into nor remove. */
function outsideFolder(name: string): string {
  const outside = join(base, `${name}-outside`);
  mkdirSync(outside);
  writeFileSync(join(outside, "file.txt"), "agent\n");
  return outside;
}

async function refusedUndo(workspace: string, path: string): Promise<void> {
  const undone = await runOrgProcess(["undo", "--force"], { cwd: workspace, env: {}, timeoutMs: 60_000 });
  expect(undone.stderr).not.toContain("unexpected error");
  expect(undone.stderr).not.toContain("    at ");
  expect(undone.exitCode).toBe(1);
  expect(undone.stdout).toBe("");
  const lines = undone.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("org: the undo of change ");
  expect(lines[0]).toContain(`"${path}"`);
  expect(lines[0]).toContain("Nothing of the undo was written");
  expect(lines[0]).toContain("then run org undo again");
  // Still the newest applied change: put right, the undo goes through.
  const listed = await runOrgProcess(["undo", "--list", "--json"], { cwd: workspace, env: {}, timeoutMs: 60_000 });
  expect(JSON.parse(listed.stdout)[0].undone).toBeUndefined();
}

test("a folder of the change that became a link out: the undo is refused in one line, and nothing outside is touched", async () => {
  const workspace = changedWorkspace("folder-link", {}, { "dd2/file.txt": "agent\n" });
  const outside = outsideFolder("folder-link");
  renameSync(join(workspace, "dd2"), join(workspace, "dd2real"));
  symlinkSync(outside, join(workspace, "dd2"));
  await refusedUndo(workspace, "dd2/file.txt");
  expect(readFileSync(join(outside, "file.txt"), "utf8")).toBe("agent\n");
  expect(readFileSync(join(workspace, "dd2real", "file.txt"), "utf8")).toBe("agent\n");
  expect(lstatSync(join(workspace, "dd2")).isSymbolicLink()).toBe(true);

  // Once the folder is a folder again, the same command takes the change back.
  rmSync(join(workspace, "dd2"));
  renameSync(join(workspace, "dd2real"), join(workspace, "dd2"));
  const undone = await runOrgProcess(["undo", "--force"], { cwd: workspace, env: {}, timeoutMs: 60_000 });
  expect(undone.exitCode).toBe(0);
  expect(lstatSync(join(workspace, "dd2"), { throwIfNoEntry: false })).toBeUndefined();
}, 60_000);

test("a folder of the change that became a plain file, or a FIFO: refused in one line naming the path", async () => {
  const file = changedWorkspace("folder-file", { "sub/a.txt": "one\n" }, { "sub/a.txt": "two\n" });
  rmSync(join(file, "sub"), { recursive: true });
  writeFileSync(join(file, "sub"), "a file now\n");
  await refusedUndo(file, "sub/a.txt");
  expect(readFileSync(join(file, "sub"), "utf8")).toBe("a file now\n");

  const fifo = changedWorkspace("folder-fifo", { "sub/a.txt": "one\n" }, { "sub/a.txt": "two\n" });
  rmSync(join(fifo, "sub"), { recursive: true });
  const made = Bun.spawnSync(["mkfifo", join(fifo, "sub")]);
  expect(made.exitCode).toBe(0);
  await refusedUndo(fifo, "sub/a.txt");
  expect(lstatSync(join(fifo, "sub")).isFIFO()).toBe(true);
}, 60_000);

test("a file of the change that became a folder holding files: refused in one line, the folder kept whole", async () => {
  const workspace = changedWorkspace("file-folder", {}, { "notes.txt": "agent\n" });
  rmSync(join(workspace, "notes.txt"));
  mkdirSync(join(workspace, "notes.txt"));
  writeFileSync(join(workspace, "notes.txt", "mine.txt"), "the user's\n");
  await refusedUndo(workspace, "notes.txt");
  expect(readFileSync(join(workspace, "notes.txt", "mine.txt"), "utf8")).toBe("the user's\n");
}, 60_000);

test("a file of the change that became a link out is replaced by its old bytes, never written through", async () => {
  const workspace = changedWorkspace("file-link", { "a.txt": "one\n" }, { "a.txt": "two\n" });
  const outside = outsideFolder("file-link");
  rmSync(join(workspace, "a.txt"));
  symlinkSync(join(outside, "file.txt"), join(workspace, "a.txt"));
  const undone = await runOrgProcess(["undo", "--force"], { cwd: workspace, env: {}, timeoutMs: 60_000 });
  expect(undone.stderr).toBe("");
  expect(undone.exitCode).toBe(0);
  expect(lstatSync(join(workspace, "a.txt")).isFile()).toBe(true);
  expect(readFileSync(join(workspace, "a.txt"), "utf8")).toBe("one\n");
  expect(readFileSync(join(outside, "file.txt"), "utf8")).toBe("agent\n");
}, 60_000);
