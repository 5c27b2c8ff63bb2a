import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../org-config.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import type { RoomEvent } from "./room-event.ts";
import { openRoom } from "./room.ts";

// A minimal persona-aware server: answers "<persona> here" in small chunks. The full room suite uses the scripted server.
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    const body = (await request.json()) as { messages: { role: string; content: string }[] };
    const persona = /^You are ([\w-]+),/.exec(body.messages[0]?.content ?? "")?.[1] ?? "nobody";
    const words = `${persona} here, line one\nand line two`.match(/.{1,4}/gs) ?? [];
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (const word of words) {
          controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: word } }] })}\n\n`));
          await Bun.sleep(1);
        }
        controller.enqueue(new TextEncoder().encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`));
        controller.enqueue(new TextEncoder().encode("data: [DONE]\n\n"));
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  },
});
const workspaceDir = mkdtempSync(join(tmpdir(), "org-room-smoke-"));
afterAll(() => {
  server.stop(true);
  rmSync(workspaceDir, { recursive: true, force: true });
});

test("a group message gets a streamed reply from every persona, rendered block by block", async () => {
  const config = loadOrgConfig(join(workspaceDir, "none.json"), { OLLAMA_BASE: `http://127.0.0.1:${server.port}`, OLLAMA_MODEL: "m" });
  config.servers[`http://127.0.0.1:${server.port}`] = { concurrency: 3 };
  let output = "";
  const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false });
  const events: RoomEvent[] = [];
  const room = await openRoom({
    config,
    workspaceDir,
    tools: [],
    onEvent: (event) => {
      events.push(event);
      renderer.handle(event);
    },
  });
  const summary = await room.send("hello all");
  await renderer.idle();
  await room.close();
  expect(summary.ok).toBe(true);
  expect(summary.messages.map((message) => message.from).sort()).toEqual(["agent", "python", "toolsmith", "user"]);
  for (const persona of ["agent", "python", "toolsmith"]) {
    const padded = persona.padEnd(9);
    expect(output).toContain(`${padded} │ ${persona} here, line one\n${padded} │ and line two\n`);
  }
  expect(events.at(-1)?.type).toBe("turn-end");
});
