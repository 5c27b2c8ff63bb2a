import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import type { RoomEvent } from "./room-event.ts";
import { openRoom } from "./room.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const base = mkdtempSync(join(tmpdir(), "org-guard-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const KEY = `sk-ant-api03-${"Ab1_".repeat(23)}xAA`;

test("a user message with a key goes redacted by default, as written only when asked; transcript, memory and resume keep it redacted", async () => {
  const workspaceDir = join(base, "w");
  mkdirSync(workspaceDir, { recursive: true });
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "fine" } }] }, port: 0 });
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  config.personas = [{ name: "agent", kind: "agent", model: "qwen3:8b", server: server.url, contextMessages: 60, tools: {} }];
  const { store } = MemoryStore.open(workspaceDir);
  const events: RoomEvent[] = [];
  const room = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], memory: store, onEvent: (event) => events.push(event) });
  const lastUser = () => {
    const body = server.requests.filter((request) => request.path.endsWith("/chat/completions")).at(-1)?.body as {
      messages: { role: string; content: string }[];
    };
    return body.messages.filter((message) => message.role === "user").map((message) => message.content);
  };
  try {
    await room.send(`first: ${KEY} end`);
    expect(lastUser()).toEqual(["first: [REDACTED] end"]);
    const notices = events.filter((event) => event.type === "notice" && event.reason === "credential-guard");
    expect(notices).toHaveLength(1);
    expect(JSON.stringify(notices[0])).toContain("an Anthropic API key; it went to the personas redacted");

    await room.send(`second: ${KEY} end`, { credentials: "as-written" });
    expect(lastUser()).toEqual(["first: [REDACTED] end", `second: ${KEY} end`]);
    expect(JSON.stringify(events.filter((event) => event.type === "notice").at(-1))).toContain("as written, as you chose");

    // A message with nothing to hide gets no notice and goes as typed, either way.
    await room.send("third: nothing secret", { credentials: "as-written" });
    expect(events.filter((event) => event.type === "notice")).toHaveLength(2);
  } finally {
    await room.close();
  }
  expect(JSON.stringify(events)).not.toContain(KEY);
  const transcript = readFileSync(room.transcriptPath, "utf8");
  expect(transcript).not.toContain(KEY);
  expect(transcript).toContain("second: [REDACTED] end");
  const recalled = await store.search("second end");
  expect(recalled.hits.map((hit) => hit.snippet).join(" ")).toContain("[REDACTED]");
  expect(JSON.stringify(recalled)).not.toContain(KEY);
  store.close();

  const resumed = await openRoom({ ...testSandboxAccess(), config, workspaceDir, tools: [], resume: room.sessionId, onEvent: () => {} });
  try {
    expect(JSON.stringify(resumed.history())).not.toContain(KEY);
  } finally {
    await resumed.close();
  }
});
