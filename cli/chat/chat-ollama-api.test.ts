import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../../testing/org-process.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-ollama-api-"));
chmodSync(workspace, 0o755);
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

// What a user on Ollama gets: `org chat` finds the server is Ollama, speaks /api/chat to it, and asks for a num_ctx that
// holds each prompt, so Ollama never drops the start of one. The process boundary is the point: org's own composition.
test("org chat on Ollama speaks /api/chat, each request's num_ctx holding its prompt; a longer session asks for a larger one", async () => {
  await using server = await startScriptedServer({
    script: { models: ["scripted"], rules: [{ reply: { text: "noted." } }] },
    contextTokens: 32_768,
    ollama: true,
  });
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" };
  const first = await runOrgProcess(["chat", "--workspace", workspace, "--once", "@agent hello", "--json"], { cwd: workspace, env });
  expect({ exitCode: first.exitCode, stderr: first.stderr }).toEqual({ exitCode: 0, stderr: "" });
  const long = `${"a long message, ".repeat(1200)}the end`;
  const second = await runOrgProcess(["chat", "--workspace", workspace, "--resume", "--once", `@agent ${long}`, "--json"], { cwd: workspace, env });
  expect({ exitCode: second.exitCode, stderr: second.stderr }).toEqual({ exitCode: 0, stderr: "" });

  const chats = server.requests.filter((request) => request.path === "/api/chat");
  expect(server.requests.filter((request) => request.path === "/v1/chat/completions")).toEqual([]);
  expect(chats.length).toBeGreaterThanOrEqual(2);
  const sizes = chats.map((request) => {
    const numCtx = (request.body as { options?: { num_ctx?: number } }).options?.num_ctx ?? 0;
    return { numCtx, prompt: request.window?.promptTokens ?? Number.POSITIVE_INFINITY, dropped: request.window?.dropped };
  });
  for (const size of sizes)
    expect({ ...size, holds: size.numCtx >= size.prompt, powerOfTwo: Number.isInteger(Math.log2(size.numCtx)) }).toMatchObject({
      holds: true,
      powerOfTwo: true,
      dropped: 0,
    });
  expect(sizes.at(-1)?.numCtx).toBeGreaterThan(sizes[0]?.numCtx ?? 0);
}, 60_000);
