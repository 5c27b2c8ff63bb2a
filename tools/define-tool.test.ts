import { expect, test } from "bun:test";
import { z } from "zod";
import { REDACTED } from "../security/redact.ts";
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
