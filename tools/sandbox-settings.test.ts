import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTool, type ToolContext, toolSet } from "./define-tool.ts";
import { sh } from "./sh.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-sandbox-settings-"));
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));
const context = (): ToolContext => ({ signal: new AbortController().signal, workspaceDir });

test("ORG_SANDBOX=off reaches the sandbox through the tool: it runs on the host, with a loud warning every time", async () => {
  const tools = toolSet([sh]);
  const call = { name: "sh", arguments: { cmd: "id -u; pwd" } };
  const previous = process.env.ORG_SANDBOX;
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  process.env.ORG_SANDBOX = "off";
  try {
    // A harmless command that shows where it ran: the host keeps its uid and the scratch's host path.
    for (let run = 0; run < 2; run += 1) {
      const result = await runTool(tools, call, context());
      expect(result.data).toMatchObject({ stdout: `${process.getuid?.()}\n${join(workspaceDir, ".org", "scratch", "default")}\n` });
    }
  } finally {
    process.stderr.write = write;
    if (previous === undefined) delete process.env.ORG_SANDBOX;
    else process.env.ORG_SANDBOX = previous;
  }
  expect(written.filter((line) => line.includes("UNSANDBOXED"))).toHaveLength(2);
  // Back to normal: sandboxed again.
  expect((await runTool(tools, call, context())).data).toMatchObject({ stdout: "65534\n/scratch\n" });
});

test("no file of sandbox/ reads the environment: settings and secrets come from the caller", () => {
  const directory = join(import.meta.dir, "..", "sandbox");
  const readers = readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .filter((name) => /process\.env|config\/environment/.test(readFileSync(join(directory, name), "utf8")));
  expect(readers).toEqual([]);
});
