import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineTool, runTool, toolSet } from "../tools/define-tool.ts";
import { AuditLog } from "./audit-log.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const root = mkdtempSync(join(tmpdir(), "org-audit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("AuditLog", () => {
  test("appends one redacted JSON line per tool call, in a file per UTC day", async () => {
    const directory = join(root, ".org", "audit");
    const audit = new AuditLog(directory);
    const echo = defineTool("echo", {
      description: "echo",
      parameters: z.object({ text: z.string() }),
      execute: async ({ text }) => text,
    });
    const context = { signal: new AbortController().signal, workspaceDir: root, sessionId: "s1", persona: "agent", audit, ...testSandboxAccess() };
    const key = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    await runTool(toolSet([echo]), { name: "echo", arguments: { text: `key ${key}` } }, { ...testSandboxAccess(), ...context, requestId: "r-1" });
    await runTool(toolSet([echo]), { name: "missing", arguments: {} }, context);
    const day = new Date().toISOString().slice(0, 10);
    const text = readFileSync(join(directory, `${day}.jsonl`), "utf8");
    expect(text).not.toContain(key);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ sessionId: "s1", persona: "agent", requestId: "r-1", tool: "echo", ok: true });
    expect(lines[0].arguments.text).toContain("[REDACTED");
    expect(lines[0].bytes).toBeGreaterThan(0);
    expect(lines[1]).toMatchObject({ tool: "missing", ok: false });
  });

  test("writes each entry under the day of its own time", () => {
    const directory = join(root, "days");
    const audit = new AuditLog(directory);
    audit.record({ time: "2026-01-02T23:59:59.000Z", tool: "sh", arguments: { cmd: "x\ny" }, ok: true, durationMs: 1, bytes: 0 });
    const text = readFileSync(join(directory, "2026-01-02.jsonl"), "utf8");
    expect(text.split("\n")).toHaveLength(2);
    expect(JSON.parse(text).arguments.cmd).toBe("x\ny");
  });
});
