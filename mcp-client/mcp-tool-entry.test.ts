import { expect, test } from "bun:test";
import { formatMcpStatus } from "./format-mcp-status.ts";
import type { McpServerStatus } from "./mcp-hub.ts";
import { MAX_DESCRIPTION, MAX_SCHEMA_CHARS, mcpToolEntry } from "./mcp-tool-entry.ts";
import { toolResultOf } from "./mcp-result.ts";
import { MAX_OUTPUT_CHARACTERS } from "../tools/cut-output.ts";

const OBJECT = { type: "object", properties: {} };

test("a server's tool names are checked: a safe charset and length, with the server's name in front", () => {
  expect(mcpToolEntry("fs", { name: "read_file", inputSchema: OBJECT })).toMatchObject({
    ok: true,
    entry: { name: "fs__read_file", tool: "read_file" },
  });
  expect(mcpToolEntry("fs", { name: "get-env", inputSchema: OBJECT })).toMatchObject({ ok: true, entry: { name: "fs__get-env" } });
  for (const hostile of ["", "../../etc", "a b", "__proto__.x", "tool\u001b[31m", "x".repeat(65), "名前", "a/b", "a.b"]) {
    const checked = mcpToolEntry("fs", { name: hostile, inputSchema: OBJECT });
    expect(checked.ok).toBe(false);
    // The name in the reason is safe to print: no escape sequence survives.
    if (!checked.ok) expect(checked.name).not.toContain("\u001b");
  }
  // 64 characters in all, the server's name and "__" included.
  expect(mcpToolEntry("server", { name: "t".repeat(56), inputSchema: OBJECT }).ok).toBe(true);
  expect(mcpToolEntry("server", { name: "t".repeat(57), inputSchema: OBJECT })).toMatchObject({
    ok: false,
    problem: expect.stringContaining("over the 64"),
  });
});

test("descriptions are made safe for the terminal and cut; schemas are capped; task-only tools are left out", () => {
  const entry = mcpToolEntry("s", { name: "t", description: `red \u001b[31m text \u202e reversed ${"long ".repeat(1000)}`, inputSchema: OBJECT });
  expect(entry.ok).toBe(true);
  if (entry.ok) {
    expect(entry.entry.description).not.toMatch(/[\u001b\u202e]/);
    expect(entry.entry.description).toContain("\\x1b[31m");
    expect(entry.entry.description.length).toBeLessThanOrEqual(MAX_DESCRIPTION);
  }
  const huge = { type: "object", properties: Object.fromEntries(Array.from({ length: 2000 }, (_, index) => [`p${index}`, { type: "string" }])) };
  expect(JSON.stringify(huge).length).toBeGreaterThan(MAX_SCHEMA_CHARS);
  expect(mcpToolEntry("s", { name: "t", inputSchema: huge })).toMatchObject({ ok: false, problem: expect.stringContaining("input schema") });
  expect(mcpToolEntry("s", { name: "t", inputSchema: OBJECT, execution: { taskSupport: "required" } }).ok).toBe(false);
  // The dialect line is dropped: some model servers refuse a tool schema with $schema.
  const withDialect = mcpToolEntry("s", { name: "t", inputSchema: { ...OBJECT, $schema: "http://json-schema.org/draft-07/schema#" } });
  expect(withDialect.ok && withDialect.entry.inputSchema).toEqual(OBJECT);
});

test("/mcp and org mcp servers print what a server said only sanitized, one line each", () => {
  const status: McpServerStatus = {
    name: "evil",
    transport: "stdio",
    sandbox: false,
    launch: "evil-server",
    state: "up",
    tools: [{ name: "evil__t", policy: "ask", description: "line one\nline two \u001b]0;title\u0007" }],
    skipped: [{ name: "bad\u001b[2Jname", problem: "its name is not …" }],
    log: { count: 1, last: "(info) \u001b[31mred" },
  };
  const lines = formatMcpStatus([status]);
  expect(lines.join("\n")).not.toMatch(/[\u001b\u0007]/);
  expect(lines).toContain("evil  up (stdio, as you) — 1 tool (1 not offered)");
  expect(lines.some((line) => line.includes("line one line two"))).toBe(true);
});

test("a result is text for the model, its structured content the data; images are named, not inlined; long text is cut, saying so", () => {
  expect(toolResultOf("s__t", { content: [{ type: "text", text: "hi" }], structuredContent: { n: 1 } })).toEqual({
    ok: true,
    output: "hi",
    data: { n: 1 },
  });
  expect(toolResultOf("s__t", { content: [{ type: "image", data: "AAAA", mimeType: "image/png" }] }).output).toBe(
    "[image image/png, 3 bytes, not shown]",
  );
  expect(toolResultOf("s__t", { content: [{ type: "text", text: "no such file" }], isError: true })).toMatchObject({
    ok: false,
    output: "Error: s__t failed: no such file",
  });
  const long = toolResultOf("s__t", { content: [{ type: "text", text: "x".repeat(MAX_OUTPUT_CHARACTERS + 10) }] });
  expect(long.output).toEndWith(`… (output cut at ${MAX_OUTPUT_CHARACTERS} characters)`);
});
