import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool, type ToolContext, toolSet } from "./define-tool.ts";
import { pythonRun } from "./python-run.ts";
import { sh } from "./sh.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-sh-tool-"));
chmodSync(workspaceDir, 0o755);
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

const tools = toolSet([sh, pythonRun]);
const context = (sessionId?: string): ToolContext => ({ signal: new AbortController().signal, workspaceDir, sessionId });

describe("sh tool", () => {
  test("runs in the session's scratch dir and reports exit code and output", async () => {
    const result = await runTool(tools, { name: "sh", arguments: { cmd: "echo hi; pwd; echo oops >&2; exit 2" } }, context("s1"));
    expect(result.ok).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.output).toContain("exit code: 2");
    expect(result.output).toContain("stdout:\nhi\n/scratch");
    expect(result.output).toContain("stderr:\noops");
    expect(result.data).toMatchObject({ exitCode: 2, signal: null, timedOut: false, stdout: "hi\n/scratch\n", stderr: "oops\n", truncated: false });
    expect(existsSync(join(workspaceDir, ".org", "scratch", "s1"))).toBe(true);
  });

  test("a timeout comes back as a result that says so", async () => {
    const result = await runTool(tools, { name: "sh", arguments: { cmd: "sleep 20", timeout_s: 0.3 } }, context());
    expect(result.ok).toBe(false);
    expect(result.output).toContain("timed out");
    expect(existsSync(join(workspaceDir, ".org", "scratch", "default"))).toBe(true);
  });

  test("the workspace itself is not visible inside", async () => {
    const result = await runTool(tools, { name: "sh", arguments: { cmd: `ls ${workspaceDir}` } }, context());
    expect(result.ok).toBe(false);
    expect(result.output).toContain("No such file or directory");
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
