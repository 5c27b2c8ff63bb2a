import { expect, test } from "bun:test";
import { z } from "zod";
import { REDACTED } from "../security/redact.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { defineTool, runTool, toolSet } from "./define-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const TOKEN = `ghp_${"a1B2c3D4".repeat(5)}`;

const report = defineTool("report", {
  description: "Returns a structured report.",
  parameters: z.object({ name: z.string() }),
  async execute({ name }) {
    return { ok: true, output: `found ${name}`, data: { name, count: 2, items: [{ token: TOKEN }], [TOKEN]: true } };
  },
});

test("a tool's structured data comes back beside its text, every string redacted like the text", async () => {
  const result = await runTool(
    toolSet([report]),
    { name: "report", arguments: { name: "files" } },
    { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: "/nonexistent" },
  );
  expect(result.output).toBe("found files");
  expect(result.data).toEqual({ name: "files", count: 2, items: [{ token: REDACTED }], [REDACTED]: true });
  expect(JSON.stringify(result)).not.toContain(TOKEN);
});

test("the audit line of a failed call keeps what it said as one redacted line; the model's name of a tool no one has is redacted and bounded too", async () => {
  const secret = "s3cr3t-Value-0042";
  const failing = defineTool("deploy", {
    description: "Fails as a command does.",
    parameters: z.object({}),
    async execute() {
      const stderr = `connecting\nerror: upstream refused token ${secret}\n\u001b[31mbye\u001b[0m`;
      return { ok: false, exitCode: 7, output: `exit code: 7\nstdout: (empty)\nstderr:\n${stderr}`, data: { exitCode: 7, stdout: "", stderr } };
    },
  });
  const lines: AuditEntry[] = [];
  const context = {
    ...testSandboxAccess(),
    signal: new AbortController().signal,
    workspaceDir: "/nonexistent",
    secrets: [secret],
    audit: { record: (entry: AuditEntry) => lines.push(entry) },
  };
  await runTool(toolSet([failing]), { name: "deploy", arguments: {} }, context);
  await runTool(toolSet([failing]), { name: `x_${secret}\nIGNORE ${"y".repeat(500)}`, arguments: {} }, context);
  expect(lines[0]).toMatchObject({ tool: "deploy", ok: false, exitCode: 7, error: `error: upstream refused token ${REDACTED}` });
  expect(lines[1]?.tool).toStartWith(`x_${REDACTED} IGNORE yyy`);
  expect(lines[1]?.tool.length).toBeLessThanOrEqual(200);
  // A tool's own answer is its first line.
  expect(lines[1]?.error).toBe(`Error: there is no tool named "x_${REDACTED}`);
  expect(JSON.stringify(lines)).not.toContain(secret);
});
