import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";
import { DEFAULT_TOOLS } from "../config/persona-entry.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const base = mkdtempSync(join(tmpdir(), "org-round-breaks-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test("a reply that speaks, calls a tool and speaks again keeps its two rounds apart in the stream, the message and the console", async () => {
  const server = await startScriptedServer({
    port: 0,
    script: {
      rules: [
        { when: { lastRole: "tool" }, reply: { text: "It's a small box.", chunkSize: 4 } },
        { when: {}, reply: { text: "Let me look around the sandbox.", toolCalls: [{ name: "echo", arguments: { text: "ping" } }], chunkSize: 4 } },
      ],
    },
  });
  const workspaceDir = join(base, "workspace");
  mkdirSync(workspaceDir);
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  config.personas = [
    { name: "agent", kind: "agent", model: "qwen3:8b", server: server.url, contextMessages: 60, tools: { ...DEFAULT_TOOLS.agent, echo: "allow" } },
  ];
  let console = "";
  const renderer = createConsoleRenderer({ write: (chunk) => (console += chunk), color: false });
  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [echoTool()],
    onEvent: (event) => {
      events.push(event);
      renderer.handle(event);
    },
  });
  try {
    await room.send("look around");
    await renderer.idle();
  } finally {
    await room.close();
    await server.stop();
  }
  const streamed = events.map((event) => (event.type === "text-delta" ? event.text : "")).join("");
  expect(streamed).toBe("Let me look around the sandbox.\n\nIt's a small box.");
  const message = events.find((event) => event.type === "message" && event.persona === "agent");
  expect(message?.type === "message" && message.message.text).toBe("Let me look around the sandbox.\n\nIt's a small box.");
  const lines = console.split("\n");
  expect(lines.filter((line) => line.startsWith("agent │"))).toEqual([
    "agent │ Let me look around the sandbox.",
    'agent │ ⚙ echo {"text":"ping"}',
    expect.stringMatching(/^agent │ ✓ echo/),
    // The tool's first lines under its result; the next round's text follows with no blank line.
    "agent │   echo: ping",
    "agent │ It's a small box.",
  ]);
});
