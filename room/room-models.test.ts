// The room on the in-memory model port: no socket, the personas' models are scripted. The wire stays
// covered by room.test.ts over the scripted server.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import { loadOrgConfig, type PersonaConfig } from "../config/org-config.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { defineTool } from "../tools/define-tool.ts";
import type { RoomEvent } from "./room-event.ts";
import { openRoom } from "./room.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const base = mkdtempSync(join(tmpdir(), "org-room-models-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test("the server's request slot is held while the persona's model streams and free while its tool runs", async () => {
  const slots = new FifoSemaphore(1);
  const seen: string[] = [];
  const held = () => (slots.isFull ? "held" : "free");
  const probe = defineTool("probe", {
    description: "Says whether the server's slot is held.",
    parameters: z.object({}),
    async execute() {
      seen.push(`tool: ${held()}`);
      return "probed";
    },
  });
  const model = scriptedModel((_request, index) => {
    seen.push(`model: ${held()}`);
    return index === 0 ? { toolCalls: [{ name: "probe", arguments: {} }] } : { text: "all probed" };
  });
  const workspaceDir = join(base, "slot");
  mkdirSync(workspaceDir, { recursive: true });
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" });
  const persona: PersonaConfig = {
    name: "alpha",
    kind: "agent",
    model: "m",
    server: "http://127.0.0.1:9",
    tools: { probe: "allow" },
    contextMessages: 60,
  };
  config.personas = [persona];
  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [probe],
    models: () => model,
    serverSlots: () => slots,
    onEvent: (event) => events.push(event),
  });
  try {
    const summary = await room.send("@alpha probe it");
    expect(summary.messages.at(-1)?.text).toBe("all probed");
    expect(seen).toEqual(["model: held", "tool: free", "model: held"]);
    expect(slots.isFull).toBe(false);
    expect(events.find((event) => event.type === "tool-result")).toMatchObject({ persona: "alpha", output: "probed" });
    // What the model was sent is the persona's context: its system prompt first, the user's words last.
    expect(model.requests[0]?.messages[0]?.content).toStartWith("You are alpha, ");
    expect(model.requests[0]?.messages.at(-1)).toEqual({ role: "user", content: "@alpha probe it" });
  } finally {
    await room.close();
  }
});
