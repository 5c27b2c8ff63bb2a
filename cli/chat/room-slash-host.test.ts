import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../../config/org-config.ts";
import { openRoom, type Room } from "../../room/room.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { sh } from "../../tools/sh.ts";
import { roomSlashHost } from "./room-slash-host.ts";
import { type RoomParts, roomOptions } from "../../assembly/assemble-room.ts";
import { DEFAULT_SANDBOX_POLICY } from "../../sandbox/sandbox-policy.ts";

import { echoTool } from "../../testing/echo-tool.ts";
import { ToolOutputs } from "../../room/tool-outputs.ts";
import { interpretCommand } from "../../room/interpret-command.ts";
import { terminalLines } from "./command-lines.ts";
import { testSandboxAccess } from "../../testing/test-sandbox.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-slash-host-"));
// The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
chmodSync(workspace, 0o755);
let server: Awaited<ReturnType<typeof startScriptedServer>>;
let room: Room;
let run: (line: string) => Promise<string>;
const events: RoomEvent[] = [];

beforeAll(async () => {
  server = await startScriptedServer({
    script: {
      models: ["scripted", "bigger:14b"],
      rules: [
        { when: { persona: "agent", lastRole: "tool" }, reply: { text: "the file is there." } },
        {
          when: { persona: "agent", lastMessage: "^check the file" },
          reply: { toolCalls: [{ name: "sh", arguments: { cmd: "printf '  indented\\nsaved-output'" } }] },
        },
        { when: { persona: "agent" }, reply: { text: "hello from agent\nsecond line" } },
      ],
    },
  });
  const configFile = join(workspace, "org.config.json");
  await Bun.write(configFile, JSON.stringify({ personas: [{ name: "agent", kind: "agent", tools: { sh: "ask" } }] }));
  const config = loadOrgConfig(configFile, { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" }, { checkoutDir: workspace });
  room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir: workspace,
    tools: [sh],
    approve: async () => true,
    onEvent: (event) => events.push(event),
  });
  const host = roomSlashHost(room, config, workspace);
  run = async (line) => {
    const read = await interpretCommand(line, "terminal", host, new AbortController().signal);
    if (read.type !== "answer") throw new Error(`not a command: ${line}`);
    return terminalLines(read.answer).join("\n");
  };
  await room.send("hi agent");
});
afterAll(async () => {
  await room?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

test("/history and /save show the real room's conversation", async () => {
  expect(await run("/history")).toBe("user: hi agent\nagent: hello from agent\n    second line");
  const saved = await run("/save notes/chat.md");
  expect(saved).toStartWith("saved the conversation to ");
  const markdown = readFileSync(join(workspace, "notes", "chat.md"), "utf8");
  expect(markdown).toContain(`# org session ${room.sessionId}`);
  expect(markdown).toMatch(/## agent — .*\n\nhello from agent\nsecond line\n/);
});

test("/save includes the tool calls behind a reply and what they printed", async () => {
  await room.send("check the file please");
  await run("/save notes/with-tools.md");
  const markdown = readFileSync(join(workspace, "notes", "with-tools.md"), "utf8");
  const section = markdown.slice(markdown.lastIndexOf("## agent"));
  expect(section).toContain("**⚙ sh**");
  expect(section).toContain("saved-output");
  // The output keeps its indentation, inside a fence, before the reply's words.
  expect(section).toMatch(/```\nexit code: 0\nstdout:\n  indented\nsaved-output\nstderr: \(empty\)\n```\n\nthe file is there\.\n/);
});

test("/models lists the server's models, /use checks them, /tools marks ask", async () => {
  const models = await run("/models");
  expect(models).toContain(`${server.url} has: scripted, bigger:14b`);
  // The scripted server says no window: org's stated default, asked of the server as a reply asks it.
  expect(models).toMatch(
    /^ {2}agent's window: 4096 tokens \(default: org's default of 4096 tokens: .*\); system prompt and tools about \d+ tokens$/m,
  );
  // Said once, by the room's own event, not again by the command.
  expect(await run("/use agent bigger:14b")).toBe("");
  expect(events.filter((event) => event.type === "model-changed")).toEqual([{ type: "model-changed", persona: "agent", model: "bigger:14b" }]);
  expect(room.personas()[0]?.model).toBe("bigger:14b");
  expect(await run("/use agent nonexistent")).toContain('/use: model "nonexistent" is not on');
  expect(await run("/use ghost scripted")).toContain('/use: there is no persona "ghost"');
  expect(await run("/tools")).toBe("  agent: sh (asks first), chat_mode");
});

test("/tools lists the toolsmith's build_tool", async () => {
  const config = loadOrgConfig(
    join(workspace, "none.config.json"),
    { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    { checkoutDir: workspace },
  );
  const defaults = await openRoom({ ...testSandboxAccess(), config, workspaceDir: workspace, tools: [sh], onEvent: () => {} });
  try {
    const read = await interpretCommand("/tools", "terminal", roomSlashHost(defaults, config, workspace), new AbortController().signal);
    if (read.type !== "answer") throw new Error("not a command");
    const lines = terminalLines(read.answer);
    expect(lines.find((line) => line.startsWith("  toolsmith:"))).toContain("build_tool");
  } finally {
    await defaults.close();
  }
});

test('/tools marks a promoted tool the room offers as "ask" though the config names no policy for it', async () => {
  const config = loadOrgConfig(join(workspace, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" }, { checkoutDir: workspace });
  const promoted = echoTool();
  // As the room assembly does for promoted tools; the chat hands the slash commands the config as loaded.
  const offered = roomOptions(
    {
      ...testSandboxAccess(),
      config,
      workspaceDir: workspace,
      builtIns: [sh],
      generated: [{ tool: promoted, root: workspace }],
      sandboxPolicy: DEFAULT_SANDBOX_POLICY,
    } satisfies RoomParts,
    { ...testSandboxAccess(), onEvent: () => {}, prepareTools: false },
  );
  const promotedRoom = await openRoom(offered);
  try {
    const host = roomSlashHost(promotedRoom, config, workspace);
    const read = await interpretCommand("/tools", "terminal", host, new AbortController().signal);
    if (read.type !== "answer") throw new Error("not a command");
    const lines = terminalLines(read.answer);
    expect(lines.join("\n")).toContain("echo (asks first)");
  } finally {
    await promotedRoom.close();
  }
});

test("/context shows the next prompt part by part in tokens; /compact has the scripted summariser write the summary it then holds", async () => {
  await room.send("The release branch is release/2.4 and the deploy script is deploy.sh.");
  await room.send("hi again");
  const before = await run("/context");
  expect(before).toMatch(/^agent \([^)]+\): next prompt \d+ of a 4\.1 k-token window/);
  for (const part of ["system prompt", "tools", "summary         none", "messages", "reply reserve", "free"]) expect(before).toContain(part);
  expect(await run("/compact the release")).toBe("");
  const compaction = events.findLast((event) => event.type === "compaction");
  expect(compaction).toMatchObject({ type: "compaction", persona: "agent", focus: "the release" });
  if (compaction?.type === "compaction") {
    expect(compaction.summary).toContain("release/2.4");
    expect(compaction.summary).toContain("deploy.sh");
  }
  expect(await run("/context agent")).toMatch(/summary {9}\d+ \(\d+ earlier messages\)/);
  expect(await run("/context nobody")).toBe('/context: there is no persona "nobody". Personas: agent.');
}, 30_000);

test("/output N of a browser screenshot names where it lies: the session's folder, its scratch", async () => {
  const outputs = new ToolOutputs();
  const call = { id: "b1", name: "browser", arguments: { action: "screenshot" } };
  const data = { url: "https://example.test/", title: "x", counts: { links: 1, inputs: 0, buttons: 0 }, screenshot: "screenshots/1.png" };
  outputs.add("r1", "agent", { call, ok: true, output: "page: https://example.test/", data });
  const config = loadOrgConfig(join(workspace, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" }, { checkoutDir: workspace });
  const host = roomSlashHost(room, config, workspace, undefined, undefined, outputs);
  const read = await interpretCommand("/output 1", "terminal", host, new AbortController().signal);
  if (read.type !== "answer") throw new Error("not a command");
  expect(terminalLines(read.answer).join("\n")).toEndWith(
    `\nscreenshot: ${join(workspace, ".org", "scratch", room.sessionId, "screenshots", "1.png")}`,
  );
});
