import { loadConfirmedConfig } from "../testing/confirmed-config.ts";
// memory_save, memory's index and serve's job log redact with the secret set the room uses: a key org knows
// only from its config (a server's apiKeyEnv) that a model echoes is in no file under `.org/`.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openChatRoom } from "../cli/chat/chat-room.ts";
import { parseChatArgs } from "../cli/chat/chat-args.ts";

import { orgVersion } from "../config/version.ts";
import { builtInTools } from "../assembly/room-tools.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { createServeHandler } from "../serve/serve-handler.ts";
import { ServedTools } from "../serve/served-tools.ts";
import { startServe } from "../serve/start-serve.ts";
import { post } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { MemoryStore } from "./memory-store.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

// No known key format, not in this process's environment: only the config's apiKeyEnv makes it a secret.
const KEY = "staging-pw-Q7w8e9r0t1y2";
const base = mkdtempSync(join(tmpdir(), "org-memory-secrets-"));
const checkout = tempGitRepo("org-memory-secrets-checkout-");
afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  checkout[Symbol.dispose]();
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
  );
}

/** Files under the workspace's `.org/` that hold the key (sqlite's -wal and -shm included). */
function filesWithKey(workspaceDir: string): string[] {
  return filesUnder(join(workspaceDir, ".org")).filter((file) => readFileSync(file).includes(KEY));
}

const SCRIPT = {
  rules: [
    {
      when: { lastRole: "user" as const },
      reply: { toolCalls: [{ name: "memory_save", arguments: { text: `the staging server's key is ${KEY}`, tags: ["staging", KEY] } }] },
    },
    { when: { lastRole: "tool" as const }, reply: { text: `saved; for the record the key is ${KEY}` } },
  ],
};

function workspaceWithKey(name: string, serverUrl: string) {
  const workspaceDir = join(base, name);
  rmSync(workspaceDir, { recursive: true, force: true });
  mkdirSync(workspaceDir, { recursive: true });
  chmodSync(workspaceDir, 0o755);
  writeFileSync(
    join(workspaceDir, "org.config.json"),
    JSON.stringify({ servers: { "http://127.0.0.1:1": { apiKeyEnv: "STAGING_SERVER_KEY" } }, serve: { tools: { memory_save: "allow" } } }),
  );
  const config = loadConfirmedConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: serverUrl, OLLAMA_MODEL: "qwen3:8b", STAGING_SERVER_KEY: KEY },
    { workspaceDir, checkoutDir: checkout.dir },
  );
  expect(config.secrets).toContain(KEY);
  return { workspaceDir, config };
}

test("chat: a model that echoes a configured key into memory_save leaves it in no file under .org/, and search does not print it", async () => {
  await using server = await startScriptedServer({ script: SCRIPT, port: 0 });
  const { workspaceDir, config } = workspaceWithKey("chat", server.url);
  const { room, memory } = await openChatRoom(
    { options: parseChatArgs(["--mode", "direct:agent"]), workspaceDir, config, color: false },
    async () => true,
    () => {},
    { checkoutDir: checkout.dir },
  );
  try {
    const summary = await room.send("remember the staging key");
    expect(summary.ok).toBe(true);
    expect(JSON.stringify(server.requests.map((request) => request.body))).toContain("saved as f-");
  } finally {
    await room.close();
  }
  expect(memory).toBeDefined();
  const found = await memory?.search("staging server key");
  expect(found?.hits.some((hit) => hit.kind === "fact" && hit.snippet.includes("[REDACTED]"))).toBe(true);
  expect(JSON.stringify(found)).not.toContain(KEY);
  memory?.close();
  expect(filesWithKey(workspaceDir)).toEqual([]);
  // A rebuild with the room's secrets (as `org memory rebuild` opens it) brings none back either.
  const { store } = MemoryStore.open(workspaceDir, { secrets: config.secrets });
  store.rebuild();
  store.close();
  expect(filesWithKey(workspaceDir)).toEqual([]);
});

test("serve: /v1/jobs and /v1/tools/memory_save/run with a configured key leave it in no file under .org/", async () => {
  await using server = await startScriptedServer({ script: SCRIPT, port: 0 });
  const { workspaceDir, config } = workspaceWithKey("serve", server.url);
  const { store: memory } = MemoryStore.open(workspaceDir, { secrets: config.secrets });
  const tools = await ServedTools.open(checkout.dir, builtInTools({ config, memory }), workspaceDir);
  const handler = createServeHandler({ ...testSandboxAccess(), config, workspaceDir, tools, version: orgVersion(), logError: () => {}, memory });
  const http = startServe({ handler, host: "127.0.0.1", port: 0 });
  try {
    const accepted = await fetch(post(`${http.url}/v1/jobs`, { text: `remember the staging key ${KEY}`, mode: "direct:agent" }));
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await waitUntil(
      "the job to finish",
      async () => ["done", "failed"].includes(((await (await fetch(`${http.url}/v1/jobs/${id}`)).json()) as { state: string }).state),
      30_000,
    );
    const run = await fetch(post(`${http.url}/v1/tools/memory_save/run`, { inputs: { text: `directly: ${KEY}` } }));
    expect(run.status).toBe(200);
    expect(await run.text()).not.toContain(KEY);
  } finally {
    await http.stop(true);
    tools.stop();
    await handler.close();
    memory.close();
  }
  expect(filesUnder(join(workspaceDir, ".org", "serve")).length).toBeGreaterThan(0);
  expect(filesWithKey(workspaceDir)).toEqual([]);
});
