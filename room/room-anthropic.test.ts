import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { echoTool } from "../testing/echo-tool.ts";
import { loadConfirmedConfig, writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import type { RoomEvent } from "./room-event.ts";
import { openRoom } from "./room.ts";

// A persona on Anthropic's Messages API, as org.config.json names it, in a real room against the scripted server
// speaking that API: its tool call runs, the result goes back as a tool_result, the reply that follows is heard, the
// key goes as x-api-key to that server alone, and a rate limit that asks for more than a minute's wait is said at once,
// with its retry-after, on the room's error event (serve's jobs retry on it).
test("a persona with api anthropic calls a tool and answers from its result through the room", async () => {
  await using server = await startScriptedServer({
    script: {
      models: ["claude-test"],
      rules: [
        { when: { lastMessage: "slow down" }, reply: { fault: { status: 429, retryAfterS: 120 } } },
        { when: { lastMessage: "your key" }, reply: { text: "it is sk-ant-room, keep it safe", chunkSize: 3 } },
        { when: { lastTool: "echo" }, reply: { text: "The tool said {{lastMessage}}" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "echo", arguments: { text: "ping" } }] } },
      ],
    },
  });
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-room-anthropic-"));
  try {
    const env = { OLLAMA_BASE: "http://127.0.0.1:9", OPENAI_API_KEY: "sk-default", ANTHROPIC_API_KEY: "sk-ant-room" };
    const file = writeConfirmedConfig(
      workspaceDir,
      {
        personas: [{ name: "agent", kind: "agent", model: "claude-test", baseUrl: server.url }],
        servers: { [server.url]: { api: "anthropic", apiKeyEnv: "ANTHROPIC_API_KEY" } },
      },
      env,
    );
    const config = loadConfirmedConfig(file, env, { workspaceDir, checkoutDir: workspaceDir });
    expect(config.personas[0]?.api).toBe("anthropic");
    const persona = config.personas[0];
    if (persona) persona.tools = { ...persona.tools, echo: "allow" };
    const events: RoomEvent[] = [];
    const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [echoTool()], onEvent: (event) => events.push(event) });
    try {
      await room.send("@agent echo ping", { signal: AbortSignal.timeout(30_000) });
      const replies = events.flatMap((event) => (event.type === "message" && event.message.from === "agent" ? [event.message.text] : []));
      expect(replies.at(-1)).toBe("The tool said echo: ping");
      const chats = server.requests.filter((request) => request.path === "/v1/messages");
      expect(chats.length).toBe(2);
      expect(chats.every((request) => request.apiKey === "sk-ant-room" && request.authorization === undefined)).toBe(true);
      expect(JSON.stringify(chats[1]?.body)).toContain('"type":"tool_result"');
      // The key streamed back in small pieces reaches the room redacted, as on every wire.
      await room.send("@agent say your key", { signal: AbortSignal.timeout(30_000) });
      const said = events.findLast((event) => event.type === "message" && event.message.from === "agent");
      expect(JSON.stringify(said)).toContain("keep it safe");
      expect(JSON.stringify(said)).not.toContain("sk-ant-room");
      expect(JSON.stringify(events)).not.toContain("sk-ant-room");
      await room.send("@agent slow down", { signal: AbortSignal.timeout(30_000) });
      const error = events.findLast((event) => event.type === "error");
      expect(error).toMatchObject({ type: "error", kind: "http", retryable: true, retryAfterMs: 120_000 });
    } finally {
      await room.close();
    }
  } finally {
    rmSync(workspaceDir, { recursive: true, force: true });
  }
});
