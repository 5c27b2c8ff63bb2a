import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bwrapCommand, checkReadOnlyMount } from "./bwrap-argv.ts";
import { mountTable } from "./launcher-scripts.ts";
import { resolveLimits } from "./sandbox-limits.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";

const made: string[] = [];
afterAll(() => {
  for (const directory of made) rmSync(directory, { recursive: true, force: true });
});

describe("read-only mounts", () => {
  test.each([
    "/usr/lib/x",
    "/etc/passwd",
    "/scratch",
    "/proc/1",
    "/tmp",
    "/dev/shm",
    "/dev/null",
    "/dev/pts/x",
    "/dev/shmx",
    "relative",
    "/a/../usr",
    "/a b",
  ])("a target of %s is refused", (target) => {
    expect(() => checkReadOnlyMount({ source: "/bin/true", target })).toThrow(RangeError);
  });

  test("an accepted mount is an --ro-bind before the root is made read-only", () => {
    const argv = bwrapCommand({
      argv: ["/bin/true"],
      limits: resolveLimits({}, 1000),
      scratchFd: 4,
      network: false,
      env: {},
      supportDir: "/support",
      seccompFd: 3,
      dropRoot: false,
      readOnlyMounts: [{ source: "/opt/x", target: "/org/x" }],
    });
    const at = argv.join("\0").indexOf(["--ro-bind", "/opt/x", "/org/x"].join("\0"));
    expect(at).toBeGreaterThan(-1);
    expect(at).toBeLessThan(argv.join("\0").indexOf(["--remount-ro", "/"].join("\0")));
  });

  // Both are the sandbox's own tmpfs, mounted before the host mounts: a checkout under /tmp or on the RAM disk.
  test.each(["/tmp", "/dev/shm"])("a host folder shown inside the sandbox's own %s is read there, and the folder stays writable", async (folder) => {
    const directory = mkdtempSync(join(tmpdir(), "org-ro-mount-nested-"));
    made.push(directory);
    chmodSync(directory, 0o755);
    writeFileSync(join(directory, "data.txt"), "nested\n", { mode: 0o644 });
    const target = `${folder}/org-checkout/node_modules`;
    const result = await runInTestSandbox({
      argv: [
        "/bin/sh",
        "-c",
        `cat ${target}/data.txt; echo x > ${target}/data.txt || echo READ-ONLY; echo y > ${folder}/other && cat ${folder}/other`,
      ],
      scratchDir: join(directory, "scratch"),
      readOnlyMounts: [{ source: directory, target }],
      timeoutMs: 10_000,
    });
    expect(result.stdout).toBe("nested\nREAD-ONLY\ny\n");
  });

  test("the sandbox reads a mounted file and cannot write it", async () => {
    const directory = mkdtempSync(join(tmpdir(), "org-ro-mount-"));
    made.push(directory);
    chmodSync(directory, 0o755);
    writeFileSync(join(directory, "data.txt"), "hello\n", { mode: 0o666 });
    const result = await runInTestSandbox({
      argv: ["/bin/sh", "-c", "cat /org/data/data.txt; echo changed > /org/data/data.txt && echo WROTE"],
      scratchDir: join(directory, "scratch"),
      readOnlyMounts: [{ source: directory, target: "/org/data" }],
      timeoutMs: 10_000,
    });
    expect(result.stdout).toBe("hello\n");
    expect(result.stderr).toContain("Read-only file system");
  });

  test("the mount table escapes blanks, controls and backslashes, so a line holds exactly one source and target", () => {
    expect(mountTable("/m p", "/s\tc", ["/a b/c\td\ne\\f#g", "/h"])).toBe(
      "org-sandbox /m\\040p tmpfs mode=0755,size=64k,nosuid,nodev 0 0\n" +
        "/s\\011c /m\\040p/scratch none bind,X-mount.mkdir 0 0\n" +
        "/a\\040b/c\\011d\\012e\\134f#g /m\\040p/ro0 none bind,X-mount.mkdir 0 0\n/h /m\\040p/ro1 none bind,X-mount.mkdir 0 0\n",
    );
  });

  test("sources named with blanks, controls, backslashes and #, files and folders, each reach their own target", async () => {
    const directory = mkdtempSync(join(tmpdir(), "org-ro-mount-names-"));
    made.push(directory);
    chmodSync(directory, 0o755);
    const names = ["a b", "tab\there", "line\nbreak", "back\\slash", "#hash", "ret\rurn"];
    const mounts = names.flatMap((name, index) => {
      const folder = join(directory, `dir ${name}`);
      mkdirSync(folder, { mode: 0o755 });
      writeFileSync(join(folder, "inside.txt"), `folder ${index}\n`, { mode: 0o644 });
      writeFileSync(join(directory, `file ${name}`), `file ${index}\n`, { mode: 0o644 });
      return [
        { source: folder, target: `/org/d${index}` },
        { source: join(directory, `file ${name}`), target: `/org/f${index}` },
      ];
    });
    const result = await runInTestSandbox({
      argv: ["/bin/sh", "-c", names.map((_, index) => `cat /org/d${index}/inside.txt /org/f${index}`).join("; ")],
      scratchDir: join(directory, "scratch"),
      readOnlyMounts: mounts,
      timeoutMs: 10_000,
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(names.map((_, index) => `folder ${index}\nfile ${index}\n`).join(""));
  });
});
