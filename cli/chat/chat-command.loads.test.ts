import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { importersOf, modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { orgCodeCopy } from "../../testing/org-clone.ts";

// `org chat --once` is started about a hundred times by the suite, and by every script that asks the room one thing.
// It loaded 453 modules: the interactive room it never opens, the MCP client with no server configured, the registry's
// index with every promoted tool fitting a turn, the gate's records for a toolsmith that builds nothing, the slash
// commands' host for a message, and node:crypto, node:tls, node:net, node:zlib, node:dns and node:stream/promises (bun's, in
// JavaScript) for a hash Bun gives natively, an address check or a TLS socket before any request, a stream nobody
// inflates.
const workspace = mkdtempSync(join(tmpdir(), "org-chat-loads-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
// org's code alone: chat would read the checkout's promoted tools, which are no part of this test.
const code = orgCodeCopy("org-chat-loads-code-");
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "heard" } }, port: 0 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

test("org chat --once without MCP servers or a toolsmith's build answers without loading their code, the room's console or node:crypto", async () => {
  const { stdout, stderr, exitCode, modules } = await modulesLoadedBy(
    ["chat", "--once", "hello", "--mode", "direct:agent", "--workspace", workspace],
    { cwd: workspace, checkoutDir: code.dir, env: { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" } },
  );
  expect({ exitCode, stderr: exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(stdout).toContain("heard");
  expect(modules).toContain("cli/chat/chat-once.ts");
  expect(modules).toContain("assembly/assemble-room.ts");
  const unasked = (path: string) =>
    /^fitness\//.test(path) ||
    /^cli\/chat\/(run-interactive|live-room|chat-loop|room-slash-host|confirm-mcp-servers)\.ts$/.test(path) ||
    path.startsWith("cli/chat/line-editor/") ||
    [
      "mcp-client/mcp-hub.ts",
      "mcp-client/mcp-connection.ts",
      "mcp-client/open-transport.ts",
      "mcp-client/mcp-trust.ts",
      "mcp-client/launch-files.ts",
    ].includes(path) ||
    ["registry/turn-tool-choice.ts", "registry/tool-registry.ts", "toolsmith/run-toolsmith.ts"].includes(path);
  expect(modules.filter(unasked)).toEqual([]);
  // Bun's own node: modules are not in require.cache: no loaded file of org's imports them at the top.
  const builtins = ["node:crypto", "node:tls", "node:net", "node:zlib", "node:dns", "node:dns/promises", "node:stream/promises"];
  expect(importersOf(modules, builtins, code.dir)).toEqual([]);
}, 90_000);
