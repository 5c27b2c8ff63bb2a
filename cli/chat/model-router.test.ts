import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRoom } from "../../room/room.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { loadConfirmedConfig, writeConfirmedConfig } from "../../testing/confirmed-config.ts";
import { echoTool } from "../../testing/echo-tool.ts";
import { testSandboxAccess } from "../../testing/test-sandbox.ts";
import { roomSlashHost } from "./room-slash-host.ts";
import { interpretCommand } from "../../room/interpret-command.ts";
import { terminalLines } from "./command-lines.ts";

// models.byTool in a real room: the reply that follows a tool's result is asked of the routed model; /models says the
// routes; compaction asks the model byPurpose names; once /use switches the persona, its own choice wins and nothing is
// routed.
test("byTool routes the round after a tool's result, /models shows the routes, and /use wins over the router", async () => {
  await using server = await startScriptedServer({
    script: {
      models: ["main", "reader", "other", "summer"],
      rules: [
        { when: { lastTool: "echo" }, reply: { text: "read: {{lastMessage}}" } },
        { when: { persona: "agent" }, reply: { toolCalls: [{ name: "echo", arguments: { text: "page" } }] } },
      ],
    },
  });
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-model-router-"));
  try {
    const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "main" };
    const file = writeConfirmedConfig(
      workspaceDir,
      { personas: [{ name: "agent", kind: "agent" }], models: { byTool: { echo: "reader" }, byPurpose: { compaction: "summer" } } },
      env,
    );
    const config = loadConfirmedConfig(file, env, { workspaceDir, checkoutDir: workspaceDir });
    const persona = config.personas[0];
    if (persona) persona.tools = { ...persona.tools, echo: "allow" };
    const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [echoTool()] });
    const chats = () =>
      server.requests.filter((request) => request.path === "/v1/chat/completions").map((request) => (request.body as { model: string }).model);
    try {
      await room.send("@agent read it", { signal: AbortSignal.timeout(30_000) });
      expect(chats()).toEqual(["main", "reader"]);
      await room.send("@agent and this one", { signal: AbortSignal.timeout(30_000) });
      // The summariser is org's own call of the purpose `compaction`.
      const [compacted] = await room.compact({ persona: "agent", signal: AbortSignal.timeout(30_000) });
      expect(compacted).toMatchObject({ ok: true });
      expect(chats()).toEqual(["main", "reader", "main", "reader", "summer"]);

      const lines: string[] = [];
      const host = roomSlashHost(room, config, workspaceDir);
      const run = async (line: string) => {
        const read = await interpretCommand(line, "terminal", host, AbortSignal.timeout(10_000));
        if (read.type !== "answer") throw new Error(`not a command: ${line}`);
        lines.push(...terminalLines(read.answer));
      };
      await run("/models");
      expect(lines.join("\n")).toContain("routed (models in org.config.json; /use wins for a persona): compaction → summer; after echo → reader");

      await run("/use agent other");
      await room.send("@agent read it again", { signal: AbortSignal.timeout(30_000) });
      expect(chats().slice(5)).toEqual(["other", "other"]);
    } finally {
      await room.close();
    }
  } finally {
    rmSync(workspaceDir, { recursive: true, force: true });
  }
});
