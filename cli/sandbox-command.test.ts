import { describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./command.ts";
import { parseRunArgs } from "./sandbox-command.ts";

const main = join(import.meta.dir, "..", "main.ts");

async function org(...args: string[]) {
  const proc = Bun.spawn(orgCommand(args), { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

describe("sandbox command", () => {
  test("parses flags before -- and leaves the command's own flags alone", () => {
    expect(parseRunArgs(["--timeout-ms", "500", "--mem-mb", "64", "--net", "--", "grep", "--help"])).toEqual({
      timeoutMs: 500,
      memoryMb: 64,
      network: true,
      argv: ["grep", "--help"],
    });
    expect(() => parseRunArgs(["echo"])).toThrow(UsageError);
    expect(() => parseRunArgs(["--timeout-ms", "x", "--", "true"])).toThrow(/positive number/);
    expect(() => parseRunArgs(["--bogus", "--", "true"])).toThrow(/unknown option/);
  });

  test("run prints the result as JSON and exits 0 even when the command fails", async () => {
    const { stdout, exitCode } = await org("sandbox", "run", "--timeout-ms", "5000", "--", "sh", "-c", "echo hi; exit 4");
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ exitCode: 4, stdout: "hi\n", timedOut: false, truncated: false });
  });

  test.if(process.getuid?.() === 0)("as root, run refuses to take over a scratch directory that holds someone's files", async () => {
    const directory = mkdtempSync(join(tmpdir(), "org-sandbox-scratch-"));
    try {
      writeFileSync(join(directory, "mine.txt"), "mine\n");
      const { stderr, exitCode } = await org("sandbox", "run", "--scratch", directory, "--", "true");
      expect(exitCode).toBe(1);
      expect(stderr).toMatch(/^org: scratch directory .* already holds files and belongs to uid 0\. .*give an empty directory or a new path\.\n$/);
      expect(statSync(directory).uid).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test("check passes for a workspace under a private (0700) directory, and names a scratch root it cannot use", async () => {
    const closed = mkdtempSync(join(tmpdir(), "org-sandbox-closed-"));
    try {
      const { stdout, exitCode } = await org("sandbox", "check", "--workspace", join(closed, "ws"));
      expect(stdout).toContain(`ok   workspace: scratch under ${join(closed, "ws", ".org", "scratch")} is private to this user (0700)`);
      expect(stdout).toContain("ok   seccomp and privileges:");
      expect(stdout).toContain("The sandbox works here.");
      expect(exitCode).toBe(0);
      const spelled = await org("sandbox", "check", `--workspace=${join(closed, "ws")}`);
      expect(spelled.stdout).toBe(stdout);
      expect((await org("sandbox", "check", "--workspace")).exitCode).toBe(2);
      mkdirSync(join(closed, "ws", ".org"), { recursive: true });
      symlinkSync(closed, join(closed, "ws", ".org", "scratch"));
      const linked = await org("sandbox", "check", "--workspace", join(closed, "ws"));
      expect(linked.stdout).toContain(`FAIL workspace: ${join(closed, "ws", ".org", "scratch")} is not a plain directory`);
      expect(linked.stdout).toContain("The sandbox works, but not for this workspace");
      expect(linked.exitCode).toBe(1);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });

  test("run with a file as scratch says so in one line", async () => {
    const { stderr, exitCode } = await org("sandbox", "run", "--scratch", main, "--", "true");
    expect(exitCode).toBe(1);
    expect(stderr).toBe(`org: scratch path ${main} is not a plain directory (a symlink or a file); give a directory, or a path to create\n`);
  });

  test("run reports a timeout in the JSON", async () => {
    const { stdout } = await org("sandbox", "run", "--timeout-ms", "200", "--", "sleep", "10");
    expect(JSON.parse(stdout)).toMatchObject({ timedOut: true, exitCode: null });
  });

  test("check says the sandbox works here", async () => {
    const { stdout, exitCode } = await org("sandbox", "check");
    expect(stdout).toContain("The sandbox works here.");
    expect(exitCode).toBe(0);
  });

  test("a wrong command line exits 2 with a hint", async () => {
    const { stderr, exitCode } = await org("sandbox", "run", "--");
    expect(exitCode).toBe(2);
    expect(stderr).toContain("needs a command after --");
  });
});
