import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileChange } from "./change-set.ts";
import { checkChangeSet } from "./check-change-set.ts";
import { followLink, MAX_LINK_HOPS, treeAfterChange } from "./link-resolution.ts";

const root = mkdtempSync(join(tmpdir(), "org-link-resolution-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const link = (path: string, target: string): FileChange => ({ path, status: "added", after: { type: "symlink", target } });
const reasons = (changes: FileChange[], workspaceDir?: string) => {
  const check = checkChangeSet({ changes }, workspaceDir ? { workspaceDir } : {});
  return check.ok ? [] : check.refusals.map((refusal) => `${refusal.path}: ${refusal.reason}`);
};

test("a link is followed as the kernel follows it: '..' after a link goes up from where that link points", () => {
  const tree = treeAfterChange(undefined, { changes: [link("s", "."), link("d/up", ".."), link("loop", "loop")] });
  expect(followLink(tree, "rc", "s/s/s/../../../root/.bashrc")).toBe("outside");
  expect(followLink(tree, "rc", "s/s/s/a.txt")).toBe("inside");
  expect(followLink(tree, "x/rc", "../d/up/..")).toBe("outside");
  expect(followLink(tree, "x/rc", "../d/up/a")).toBe("inside");
  expect(followLink(tree, "rc", "loop")).toBe("loop");
  expect(followLink(tree, "rc", "/etc/passwd")).toBe("outside");
  // A part that does not exist is taken as written.
  expect(followLink(tree, "a/b/rc", "../../missing/x")).toBe("inside");
  expect(MAX_LINK_HOPS).toBe(40);
});

test("a change's links that leave through each other are refused, with or without the workspace; links that stay inside pass", () => {
  expect(reasons([link("s", "."), link("rc", "s/s/s/../../../root/.bashrc")])).toEqual([
    'rc: a link to "s/s/s/../../../root/.bashrc", which leads outside the workspace through the links on its way',
  ]);
  expect(reasons([link("s", "."), link("rc", "s/a.txt"), link("d/e", "../s/d")])).toEqual([]);
  expect(reasons([link("a", "b"), link("b", "a")])[0]).toContain("passes more than 40 links (a loop)");
});

test("with the workspace: its own links are followed, and a change that would make one of them lead outside is refused", () => {
  const workspaceDir = join(root, "w");
  mkdirSync(join(workspaceDir, "sub"), { recursive: true });
  writeFileSync(join(workspaceDir, "a.txt"), "a\n");
  symlinkSync(".", join(workspaceDir, "dot"));
  symlinkSync("sub/../a.txt", join(workspaceDir, "up"));
  // A user's link that leads outside already is theirs: a change elsewhere is not refused for it.
  symlinkSync("../../shared", join(workspaceDir, "shared"));
  expect(reasons([link("rc", "dot/dot/../x")], workspaceDir)).toEqual([
    'rc: a link to "dot/dot/../x", which leads outside the workspace through the links on its way',
  ]);
  const replaced: FileChange[] = [{ path: "sub", status: "added", after: { type: "symlink", target: "." } }];
  expect(reasons(replaced, workspaceDir)).toEqual([
    `up: a link to "sub/../a.txt" already in the workspace, which this change's links would make lead outside it`,
  ]);
  expect(reasons([link("b", "a.txt")], workspaceDir)).toEqual([]);
});
