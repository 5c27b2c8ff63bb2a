import { afterAll, expect, test } from "bun:test";
import { runOrgProcess } from "../../testing/org-process.ts";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../../room/room-event.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-reply-limit-"));
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function chatJson(env: Record<string, string>): Promise<{ events: RoomEvent[]; exitCode: number | null; stderr: string }> {
  const { stdout, stderr, exitCode } = await runOrgProcess(["chat", "--workspace", workspace, "--once", "talk", "--mode", "direct:agent", "--json"], {
    cwd: workspace,
    env,
  });
  return {
    events: stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as RoomEvent),
    exitCode,
    stderr,
  };
}

test("chat --once --json: a 2 MB streamed reply stops at limits.replyChars and the events say so", async () => {
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "z".repeat(2_000_000), chunkSize: 65_536 } }] }, port: 0 });
  writeFileSync(join(workspace, "org.config.json"), JSON.stringify({ limits: { replyChars: 50_000 } }));
  const { events, exitCode, stderr } = await chatJson({ OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" });
  const reply = events.find((event): event is Extract<RoomEvent, { type: "message" }> => event.type === "message" && event.message.from === "agent");
  expect(reply?.message.text.length).toBe(50_000);
  expect(events.some((event) => event.type === "notice" && event.reason === "reply-chars" && event.message.includes("50000 characters"))).toBe(true);
  expect(exitCode).toBe(1);
  expect(stderr).toContain("limits.replyChars");
});
