// docs/from-other-tools.md as a reader uses it: its MCP client entry and its OpenAI snippets, run as written (the
// `openai` package, the `export` line, the JSON an MCP client reads) against `org serve` and `org mcp` on a project of
// their own, with the playground's scripted server as the model. A snippet added to the page is run here too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { type OrgServeProcess, startOrgServe } from "../testing/org-serve-process.ts";
import { type PlaygroundServer, startPlaygroundServer } from "../testing/playground-server.ts";

const REPO = join(import.meta.dir, "..");
const PAGE = readFileSync(join(import.meta.dir, "from-other-tools.md"), "utf8");
const TOKEN = "from-other-tools-token-3";

/** The page's fenced blocks in `language`, in order. */
const blocks = (language: string) => [...PAGE.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map((found) => found[1] ?? "");

const scratch = mkdtempSync(join(tmpdir(), "org-from-other-tools-"));
// The sandbox drops to another uid, which must be able to enter the project (mkdtemp makes it 0700).
chmodSync(scratch, 0o755);
const project = join(scratch, "project");
const client = join(scratch, "client");
let playground: PlaygroundServer;
let serve: OrgServeProcess;

beforeAll(async () => {
  for (const dir of [project, client]) Bun.spawnSync(["mkdir", "-m", "755", dir]);
  writeFileSync(join(project, "README.md"), "# Tiny adder\n\nAdds two numbers.\n");
  writeFileSync(join(project, "Makefile"), "test:\n\t@echo adds fine\n");
  // The client's folder resolves `openai` as a user's project does: from its node_modules.
  symlinkSync(join(REPO, "node_modules"), join(client, "node_modules"));
  playground = await startPlaygroundServer(scratch);
  serve = await startOrgServe({ workspace: project, modelUrl: playground.url, env: { OLLAMA_MODEL: "scripted", ORG_API_TOKEN: TOKEN } });
}, 90_000);

afterAll(async () => {
  await serve?.stop();
  await playground?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs a ts snippet of the page after its `export` line, as a reader pastes both into a shell; what it printed. */
async function runSnippet(code: string, name: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const exported = blocks("sh").find((block) => block.startsWith("export OPENAI_BASE_URL="));
  if (!exported) throw new Error("docs/from-other-tools.md has no `export OPENAI_BASE_URL=…` line any more: update this test");
  const file = join(client, `${name}.ts`);
  writeFileSync(file, code);
  const exportLine = exported.replace("http://127.0.0.1:7001", serve.url);
  const child = Bun.spawn(["bash", "-c", `${exportLine}\nexec "$0" "$1"`, process.execPath, file], {
    cwd: client,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, ORG_API_TOKEN: TOKEN },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 120_000,
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

describe("docs/from-other-tools.md, run as written", () => {
  test("every OpenAI snippet runs with the openai package against org serve: a persona streams, and 'org' answers once per persona", async () => {
    const snippets = blocks("ts");
    expect(snippets.length).toBeGreaterThanOrEqual(2);
    const streamed = snippets.find((code) => code.includes('model: "agent"') && code.includes("stream: true"));
    const group = snippets.find((code) => code.includes('model: "org"') && !code.includes("stream: true"));
    expect({ streamed: streamed !== undefined, group: group !== undefined }).toEqual({ streamed: true, group: true });
    for (const [index, code] of snippets.entries()) {
      const run = await runSnippet(code, `snippet-${index}`);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: "" });
      if (code === streamed) {
        // The agent looked at the project in the sandbox and said what it found there.
        expect(run.stdout).toContain("Entries at the top of /workspace: 2. README.md has 3 lines and opens with: # Tiny adder");
      }
      if (code === group) {
        // Before the fix the page read choices[0] alone, and a client written from it showed only the agent.
        const lines = run.stdout.trim().split("\n");
        expect(lines.map((line) => line.split(":")[0])).toEqual(["agent", "python", "toolsmith"]);
        expect(run.stdout).toContain("python: I am the playground's scripted python");
      }
    }
  }, 240_000);

  test("the MCP client entry starts org mcp on the project, whose personas are its prompts", async () => {
    const entry = JSON.parse(blocks("json")[0] ?? "{}") as { mcpServers: Record<string, { command: string; args: string[] }> };
    const launch = entry.mcpServers.org;
    expect(launch?.command).toBe("org");
    // Without `npm link`, the page says, `command` is the launcher's full path.
    const transport = new StdioClientTransport({
      command: join(REPO, "bin", "org"),
      args: (launch?.args ?? []).map((arg) => (arg === "/home/me/project" ? project : arg)),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch },
      stderr: "pipe",
    });
    const mcp = new Client({ name: "from-other-tools", version: "1.0.0" });
    await mcp.connect(transport);
    try {
      const { prompts } = await mcp.listPrompts();
      expect(prompts.map((prompt) => prompt.name)).toEqual(expect.arrayContaining(["agent", "python", "toolsmith"]));
    } finally {
      await mcp.close();
    }
  }, 60_000);
});
