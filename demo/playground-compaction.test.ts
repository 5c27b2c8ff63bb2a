// The playground shows a compaction as docs/models.md says: its script on a server with a 4 096-token window
// (`org scripted-server --script playground --context-tokens 4096`), long messages to the agent, and by about the sixth
// the first ones are summarised by the playground's own summariser into the next prompt. A message whose first sentence
// runs past what write_summary takes for a line (a paste with no full stop) is summarised too. In process: the room and
// the server are the real ones; the processes around them are proved by cli/chat/chat-command.compaction.test.ts.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { scriptFiles } from "../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { withoutDelays } from "../scripted-server/without-delays.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { sh } from "../tools/sh.ts";

const workspaceDir = mkdtempSync(join(tmpdir(), "org-playground-compaction-"));
chmodSync(workspaceDir, 0o755);
afterAll(() => rmSync(workspaceDir, { recursive: true, force: true }));

/** A message of about 1 500 characters that asks the playground for nothing it acts on. */
const long = (turn: number) =>
  `Note ${turn}: ${"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore ".repeat(15)}`;

test("the playground at a 4 096-token window: long messages to the agent, the first ones summarised into the next prompt", async () => {
  const script = withoutDelays(mergeScripts(await Promise.all(scriptFiles("playground").map((file) => loadScript(file)))));
  await using server = await startScriptedServer({ script, port: 0, contextTokens: 4096 });
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" });
  const events: RoomEvent[] = [];
  const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [sh], onEvent: (event) => events.push(event) });
  try {
    room.setMode("direct:agent");
    let sent = 0;
    while (!events.some((event) => event.type === "compaction") && sent < 8) {
      sent += 1;
      await room.send(sent === 1 ? `The staging database listens on port 6543. ${long(sent)}` : long(sent));
      await room.compactionsSettled();
    }
    const compaction = events.find((event) => event.type === "compaction");
    expect(compaction).toBeDefined();
    if (compaction?.type !== "compaction") return;
    expect(compaction.persona).toBe("agent");
    expect(compaction.summary).toContain("port 6543");
    expect(server.requests.filter((request) => request.outcome === "over the window")).toEqual([]);
    // What /context shows: the window the server said, and the summary in the next prompt.
    const report = await room.context("agent");
    expect([report.window.tokens, report.window.source]).toEqual([4096, "llama.cpp"]);
    expect(report.parts.summary).toBe(compaction.tokens);
  } finally {
    await room.close();
  }
}, 60_000);
