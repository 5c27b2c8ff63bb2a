import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool, type ToolContext, toolSet } from "./define-tool.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { pythonRun } from "./python-run.ts";
import { sh } from "./sh.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-sh-tool-"));
chmodSync(workspaceDir, 0o755);
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

const tools = toolSet([sh, pythonRun]);
const context = (sessionId?: string): ToolContext => ({ ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir, sessionId });

describe("sh tool", () => {
  test("runs with sandbox.workspace none in the session's scratch dir and reports exit code and output", async () => {
    const result = await runTool(
      tools,
      { name: "sh", arguments: { cmd: "echo hi; pwd; ls /workspace; echo oops >&2; exit 2" } },
      { ...context("s1"), sandboxPolicy: sandboxPolicy({ workspace: "none" }) },
    );
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain("exit code: 2");
    expect(result.output).toContain("stdout:\nhi\n/scratch");
    expect(result.output).toContain("stderr:\nls: cannot access '/workspace': No such file or directory\noops");
    expect(result.data).toMatchObject({ exitCode: 2, signal: null, timedOut: false, stdout: "hi\n/scratch\n", truncated: false });
    expect(existsSync(join(workspaceDir, ".org", "scratch", "s1"))).toBe(true);
  });

  test("a timeout comes back as a result that says so", async () => {
    const result = await runTool(tools, { name: "sh", arguments: { cmd: "sleep 20", timeout_s: 0.3 } }, context());
    expect(result.ok).toBe(false);
    expect(result.output).toContain("timed out");
    expect(existsSync(join(workspaceDir, ".org", "scratch", "default"))).toBe(true);
  });

  test("by default it starts in the workspace, read-only at /workspace, .org/ hidden, secrets redacted", async () => {
    writeFileSync(join(workspaceDir, "notes.txt"), "token sk-test-secret-value-123\n");
    mkdirSync(join(workspaceDir, ".org", "private"), { recursive: true });
    writeFileSync(join(workspaceDir, ".org", "private", "state"), "org's own\n");
    const cmd = `pwd; cat notes.txt; ls -A .org; ls ${workspaceDir} 2>&1; echo x > written.txt`;
    const result = await runTool(tools, { name: "sh", arguments: { cmd } }, { ...context(), secrets: ["sk-test-secret-value-123"] });
    expect(result.output).toContain("stdout:\n/workspace\ntoken [REDACTED]\n");
    expect(result.output).not.toContain("sk-test-secret-value-123");
    expect(result.output).not.toContain("private");
    expect(result.output).toContain("No such file or directory");
    expect(result.output).toContain("Read-only file system");
    expect(existsSync(join(workspaceDir, "written.txt"))).toBe(false);
  });

  test("a workspace the sandbox's uid may not enter (as root, a 0700 folder) is not shown: the command runs in /scratch and is told why", async () => {
    const closed = mkdtempSync(join(tmpdir(), "org-sh-closed-"));
    try {
      writeFileSync(join(closed, "secret.txt"), "root's own\n");
      const result = await runTool(tools, { name: "sh", arguments: { cmd: "pwd; cat secret.txt" } }, { ...context(), workspaceDir: closed });
      if (process.getuid?.() === 0) {
        expect(result.output).toContain("stdout:\n/scratch\n");
        expect(result.output).not.toContain("root's own");
        expect(result.output).toContain("[workspace: the workspace is not shown at /workspace: org runs as root");
        expect(result.output).toContain("mode 0700");
      } else {
        // A user's own 0700 folder is theirs, and the sandbox runs as them.
        expect(result.output).toContain("stdout:\n/workspace\nroot's own\n");
      }
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });
});

describe("python_run tool", () => {
  test("runs code from stdin with the host's python3", async () => {
    const result = await runTool(
      tools,
      { name: "python_run", arguments: { code: "import sys\nprint(sum(range(10)))\nprint(sys.version_info[0])" } },
      context(),
    );
    expect(result.ok).toBe(true);
    expect(result.output).toContain("stdout:\n45\n3");
    expect(result.data).toMatchObject({ exitCode: 0, stdout: "45\n3\n", stderr: "" });
  });

  test("an exception is a failed result with the traceback", async () => {
    const result = await runTool(tools, { name: "python_run", arguments: { code: "1/0" } }, context());
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain("ZeroDivisionError");
  });
});
