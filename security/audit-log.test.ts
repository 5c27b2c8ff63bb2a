import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defineTool, runTool, toolSet } from "../tools/define-tool.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { AuditLog, readSealedAuditLines } from "./audit-log.ts";
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

  test("seals each line with the user's key for its day: read back under that key only, and not under another day's name", () => {
    const directory = join(root, "sealed");
    const entry = { time: "2026-01-03T10:00:00.000Z", sessionId: "http", tool: "roman_numeral", arguments: {}, ok: false, durationMs: 1, bytes: 0 };
    new AuditLog(directory).record(entry);
    // A line planted beside it, as a clone brings one.
    appendFileSync(join(directory, "2026-01-03.jsonl"), `${JSON.stringify({ ...entry, tool: "upload_keys" })}\n`);
    const lines = readFileSync(join(directory, "2026-01-03.jsonl"), "utf8").trimEnd().split("\n");
    const mine = readSealedAuditLines("2026-01-03", lines, userOrgDir());
    expect(mine.entries.map((read) => read.tool)).toEqual(["roman_numeral"]);
    expect(mine.unsealed).toBe(1);
    expect(readSealedAuditLines("2026-01-04", lines, userOrgDir()).entries).toEqual([]);
    const other = mkdtempSync(join(root, "other-home-"));
    expect(readSealedAuditLines("2026-01-03", lines, other)).toEqual({ entries: [], unsealed: 2 });
    // Without a folder that can keep a key, the log still writes, unsealed.
    new AuditLog(join(root, "unsealed"), { home: undefined }).record(entry);
    expect(readFileSync(join(root, "unsealed", "2026-01-03.jsonl"), "utf8")).not.toContain('"seal"');
  });
});
