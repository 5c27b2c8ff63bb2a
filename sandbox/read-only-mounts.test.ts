import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bwrapCommand, checkReadOnlyMount } from "./bwrap-argv.ts";
import { resolveLimits } from "./sandbox-limits.ts";
import { runSandboxed } from "./run-sandboxed.ts";

const made: string[] = [];
afterAll(() => {
  for (const directory of made) rmSync(directory, { recursive: true, force: true });
});

describe("read-only mounts", () => {
  test.each(["/usr/lib/x", "/etc/passwd", "/scratch", "/proc/1", "/tmp", "relative", "/a/../usr", "/a b"])("a target of %s is refused", (target) => {
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

  test("the sandbox reads a mounted file and cannot write it", async () => {
    const directory = mkdtempSync(join(tmpdir(), "org-ro-mount-"));
    made.push(directory);
    chmodSync(directory, 0o755);
    writeFileSync(join(directory, "data.txt"), "hello\n", { mode: 0o666 });
    const result = await runSandboxed({
      argv: ["/bin/sh", "-c", "cat /org/data/data.txt; echo changed > /org/data/data.txt && echo WROTE"],
      scratchDir: join(directory, "scratch"),
      readOnlyMounts: [{ source: directory, target: "/org/data" }],
      timeoutMs: 10_000,
    });
    expect(result.stdout).toBe("hello\n");
    expect(result.stderr).toContain("Read-only file system");
  });
});
