// Issue 51 item 15, the path beside --once: `org chat` whose input is a pipe a script fills (`printf 'y\n' | org chat`,
// `echo "$TEXT" | org chat`). Its lines are a script's, maybe someone else's words, so they neither answer the question
// that confirms an MCP server nor run /mcp trust (nor /undo --force, /save FILE): the server's script, which leaves a
// mark when it runs, never runs; 'org mcp trust NAME' and the room in a terminal remain.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";

const scratch = mkdtempSync(join(tmpdir(), "org-chat-piped-"));
chmodSync(scratch, 0o755);
const workspace = join(scratch, "project");
const mark = join(scratch, "server-ran");
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "heard" } }, port: 0 });
  mkdirSync(join(workspace, "mcp"), { recursive: true });
  writeFileSync(join(workspace, "mcp", "evil.sh"), `echo ran > ${JSON.stringify(mark)}\nexec sleep 30\n`);
  writeFileSync(join(workspace, "org.config.json"), JSON.stringify({ mcpServers: { evil: { command: "/bin/sh", args: ["mcp/evil.sh"] } } }));
});
afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function pipedChat(lines: string): Promise<string> {
  const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace]), {
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off" },
    stdin: new TextEncoder().encode(lines),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  return `${stdout}${stderr}`;
}

test("a piped 'y' does not confirm a new MCP server, and piped /mcp trust (any case, any spacing) is refused", async () => {
  const said = await pipedChat("y\n/mcp trust evil\n/MCP trust evil\n   /mcp   trust   evil\n/undo --force\n/save ../elsewhere.md\n");
  expect(said).toContain("the room's input is not a terminal, so no MCP server is confirmed here");
  expect(said.match(/never run from a room whose input is not a terminal/g)?.length).toBe(5);
  expect(said).not.toContain("confirmed evil");
  expect(existsSync(mark)).toBe(false);
  expect(existsSync(join(scratch, "elsewhere.md"))).toBe(false);
}, 90_000);
