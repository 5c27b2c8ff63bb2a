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

test("a tool gets the capabilities it declares and no others; one the entry point lacks is its explicit 'not here' piece", async () => {
  const seen: Record<string, unknown>[] = [];
  const plain = defineTool("plain", {
    description: "Says what it was given.",
    parameters: z.object({}),
    async execute(_args, context) {
      seen.push({ ...context });
      return "ok";
    },
  });
  const asks = defineTool("asks", {
    description: "Asks, proposes a change, and says what it was given.",
    parameters: z.object({}),
    needs: ["askPerson", "workspaceWrite", "outboundSecrets", "approvedByPerson"],
    async execute(_args, context) {
      seen.push({ ...context });
      const asked = await context.askPerson({ call: { name: "asks", arguments: {} }, preview: "", always: { key: "k", label: "k" } });
      const applied = await context.workspaceWrite({ paths: ["a"], changeSet: () => ({ changes: [] }), conflicts: () => [] });
      return JSON.stringify({ asked, applied });
    },
  });
  const tools = toolSet([plain, asks]);
  const base = { ...testSandboxAccess(), signal: new AbortController().signal, workspaceDir: "/nonexistent", secrets: ["k-1"] };
  const room = { ...base, askPerson: async () => true, workspaceWrite: async () => "applied", approvedByPerson: true, policyFrom: "bob" };
  const capabilities = ["askPerson", "workspaceWrite", "outboundSecrets", "approvedByPerson", "policyFrom"];

  await runTool(tools, { name: "plain", arguments: {} }, room);
  expect(Object.keys(seen[0] ?? {}).filter((key) => capabilities.includes(key))).toEqual([]);

  expect(JSON.parse((await runTool(tools, { name: "asks", arguments: {} }, room)).output)).toEqual({ asked: true, applied: "applied" });
  expect(seen[1]).toMatchObject({ approvedByPerson: true, outboundSecrets: ["k-1"] });

  // Serve's HTTP, `org patch`: nobody to ask, nothing to apply a change, no approval; said, not undefined.
  expect(JSON.parse((await runTool(tools, { name: "asks", arguments: {} }, base)).output)).toEqual({
    asked: { denied: "nobody can be asked here; ask the user to list it" },
    applied: "the workspace was not changed: nothing here can apply changes (run it in the room)",
  });
  expect(seen[2]).toMatchObject({ approvedByPerson: false, outboundSecrets: ["k-1"] });
});
