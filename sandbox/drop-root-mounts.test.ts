import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BwrapPlan, launcherCommand, type ReadOnlyMount } from "./bwrap-argv.ts";
import { coverMountPoint } from "./launcher-scripts.ts";
import { openScratch } from "./open-scratch.ts";
import { isRoot } from "./run-sandboxed.ts";
import { resolveLimits } from "./sandbox-limits.ts";
import { planFor, spawnLauncher } from "./spawn-launcher.ts";
import { testSandbox } from "../testing/test-sandbox.ts";

const root = mkdtempSync(join(tmpdir(), "org-drop-root-mounts-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * The drop-root prefix of a launcher line as org spawns it (its mount table at its fd), with `script` run where the
 * line would go on to setpriv and bwrap: still root, in the launcher's mount namespace, `$M` its mount point.
 */
async function throughPrefix(plan: BwrapPlan, scratch: { directory: string; fd: number }, script: string) {
  const line = launcherCommand(plan);
  const prefix = line.slice(0, line.indexOf("setpriv"));
  const proc = spawnLauncher([...prefix, "/usr/bin/env", `M=${plan.scratchMountPoint}`, "/bin/sh", "-c", script], undefined, plan, scratch);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

function rootPlan(name: string, readOnlyMounts: ReadOnlyMount[], coveredFiles: ReadOnlyMount[] = []) {
  const scratchDir = join(root, name, "scratch");
  mkdirSync(join(root, name), { mode: 0o755 });
  const plan = planFor({ scratchDir, readOnlyMounts, coveredFiles }, resolveLimits({}, 1000), true, testSandbox.supportDir);
  return { plan, scratch: openScratch(scratchDir, true) };
}

const inode = (path: string) => String(statSync(path).ino);

// As root the launcher mounts scratch and every source where the sandbox uid reaches them, from one table and, for
// folders alone, in one `mount`; a file needs the tmpfs first. What lands at each place is what org meant.
describe.skipIf(!isRoot())("the drop-root prefix's mounts", () => {
  test("folders alone: scratch and each folder at their places, the table closed, the descriptor still scratch", async () => {
    const folder = join(root, "folder a b");
    mkdirSync(folder, { mode: 0o755 });
    const { plan, scratch } = rootPlan("folders", [{ source: folder, target: "/org/a" }]);
    try {
      const result = await throughPrefix(plan, scratch, 'stat -L -c %i "$M/scratch" "$M/ro0" /proc/self/fd/4; ls -A "$M"; ls /proc/self/fd');
      expect(result).toMatchObject({ exitCode: 0, stderr: "" });
      const [scratchInode, folderInode, fdInode, ...rest] = result.stdout.trim().split("\n");
      expect([scratchInode, folderInode, fdInode]).toEqual([inode(scratch.directory), inode(folder), inode(scratch.directory)]);
      expect(rest.slice(0, 2)).toEqual(["ro0", "scratch"]);
      // The table's descriptor is closed before the rest of the line: 0-2, the seccomp program, scratch, ls's own.
      expect(rest.slice(2).sort()).toEqual(["0", "1", "2", "3", "4", "5"]);
    } finally {
      closeSync(scratch.fd);
    }
  });

  test("a file among the sources: mounted on a file the shell made, the folders beside it", async () => {
    const folder = join(root, "folder c");
    mkdirSync(folder, { mode: 0o755 });
    const file = join(root, "file\td");
    writeFileSync(file, "file content\n", { mode: 0o644 });
    const { plan, scratch } = rootPlan("file", [
      { source: folder, target: "/org/c" },
      { source: file, target: "/org/d" },
    ]);
    try {
      const result = await throughPrefix(plan, scratch, 'cat "$M/ro1"; stat -c %i "$M/ro0" "$M/scratch"');
      expect(result).toMatchObject({ exitCode: 0, stderr: "" });
      expect(result.stdout).toBe(`file content\n${inode(folder)}\n${inode(scratch.directory)}\n`);
    } finally {
      closeSync(scratch.fd);
    }
  });

  test("a cover goes on the support dir's file for it, beside the folders, and that file stays empty on the host", async () => {
    const folder = join(root, "folder f");
    mkdirSync(folder, { mode: 0o755 });
    const cover = join(root, "cover g");
    writeFileSync(cover, "[core]\n", { mode: 0o644 });
    const { plan, scratch } = rootPlan("cover", [{ source: folder, target: "/org/f" }], [{ source: cover, target: "/org/f/.git/config" }]);
    const point = coverMountPoint(plan.supportDir, 0);
    try {
      const result = await throughPrefix(plan, scratch, `cat '${point}'; stat -L -c %i "$M/ro0" "$M/scratch"`);
      expect(result).toMatchObject({ exitCode: 0, stderr: "" });
      expect(result.stdout).toBe(`[core]\n${inode(folder)}\n${inode(scratch.directory)}\n`);
      expect(readFileSync(point, "utf8")).toBe("");
    } finally {
      closeSync(scratch.fd);
    }
  });

  test("a scratch path that is no longer the folder org opened is refused before anything runs", async () => {
    const folder = join(root, "folder e");
    mkdirSync(folder, { mode: 0o755 });
    const { plan, scratch } = rootPlan("moved", [{ source: folder, target: "/org/e" }]);
    const other = join(root, "moved", "other");
    mkdirSync(other, { mode: 0o700 });
    try {
      const result = await throughPrefix(plan, { directory: other, fd: scratch.fd }, "echo RAN");
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("scratch was moved while the sandbox started");
    } finally {
      closeSync(scratch.fd);
    }
  });
});
