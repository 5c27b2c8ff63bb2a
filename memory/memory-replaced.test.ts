// The README's own recovery step, `rm .org/memory/memory.sqlite`, while a chat is open: `org memory search`
// rebuilds from the transcripts and facts.jsonl (with a notice, never "a bug in org"), and the open chat
// notices its database was replaced and goes on indexing into the new one.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../config/org-bun-command.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import { openRoom } from "../room/room.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { memorySaveTool } from "./memory-save-tool.ts";
import { MEMORY_DATABASE_FILE, MemoryStore } from "./memory-store.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const base = mkdtempSync(join(tmpdir(), "org-memory-replaced-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

async function memorySearch(workspaceDir: string, query: string) {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !/^(OLLAMA_|ORG_|OPENAI_)/.test(name)) env[name] = value;
  const child = Bun.spawn(orgCommand(["memory", "search", query, "--workspace", workspaceDir]), {
    env: { ...env, ORG_EMBED_MODEL: "off" },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 60_000,
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

test("memory.sqlite deleted while a chat is open: search rebuilds with a notice, and the chat indexes into the new database", async () => {
  const workspaceDir = join(base, "w");
  mkdirSync(workspaceDir, { recursive: true });
  await using server = await startScriptedServer({
    script: {
      rules: [
        {
          when: { lastMessage: "remember" },
          reply: { toolCalls: [{ name: "memory_save", arguments: { text: "the staging database listens on 6543" } }] },
        },
        { when: { lastRole: "tool" }, reply: { text: "noted" } },
        { when: { lastMessage: "zebra" }, reply: { text: "the zebra crossing is on quagga street" } },
        { reply: { text: "the wombat burrow is 12 metres long" } },
      ],
    },
    port: 0,
  });
  const config = loadOrgConfig(
    join(workspaceDir, "org.config.json"),
    { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" },
    { checkoutDir: workspaceDir },
  );
  config.personas = [{ name: "agent", kind: "agent", model: "qwen3:8b", server: server.url, contextMessages: 60, tools: { memory_save: "allow" } }];
  const { store } = MemoryStore.open(workspaceDir);
  const notices: string[] = [];
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir,
    tools: [memorySaveTool(store)],
    memory: store,
    onEvent: (event) => {
      if (event.type === "notice") notices.push(event.message);
    },
  });
  try {
    await room.send("tell me about the wombat");
    await room.send("remember the staging port");
    expect((await memorySearch(workspaceDir, "wombat")).stdout).toContain("wombat burrow");

    rmSync(join(workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE));
    const after = await memorySearch(workspaceDir, "staging 6543");
    expect(after.stderr).not.toContain("a bug in org");
    expect(after.exitCode).toBe(0);
    expect(after.stderr).toContain("was missing; rebuilt it from");
    expect(after.stdout).toContain("the staging database listens on 6543");
    expect((await memorySearch(workspaceDir, "wombat")).stdout).toContain("wombat burrow");

    // The open chat notices its database is not the one at the path any more, and indexes into the new one.
    await room.send("zebra?");
    const zebra = await memorySearch(workspaceDir, "quagga");
    expect(zebra.stderr).not.toContain("a bug in org");
    expect(zebra.stdout).toContain("zebra crossing is on quagga street");
    expect((await store.search("staging 6543")).hits.length).toBeGreaterThan(0);
    expect(notices.join("\n")).toContain("was replaced while in use (another org rebuilt it); using the new one");
  } finally {
    await room.close();
    store.close();
  }
});

test("a database emptied while facts.jsonl holds facts is filled again at open, with a notice", () => {
  const workspaceDir = join(base, "empty");
  mkdirSync(workspaceDir, { recursive: true });
  const first = MemoryStore.open(workspaceDir).store;
  first.save({ text: "the backup runs at 03:00", persona: "agent" });
  first.close();
  // An empty file where the database was (what a process that opened the path while it was gone leaves).
  const path = join(workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
  writeFileSync(path, "", { mode: 0o600 });
  const { store, notices } = MemoryStore.open(workspaceDir);
  try {
    expect(notices.join("\n")).toContain("rebuilt it from");
    expect(store.counts().fact).toBe(1);
  } finally {
    store.close();
  }
});

test("a store whose database is deleted under it makes it anew from facts.jsonl on its next use, with a notice", async () => {
  const workspaceDir = join(base, "deleted");
  mkdirSync(workspaceDir, { recursive: true });
  const { store } = MemoryStore.open(workspaceDir);
  try {
    store.save({ text: "the release train leaves on thursdays", persona: "agent" });
    rmSync(join(workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE));
    const found = await store.search("release train");
    expect(found.hits.map((hit) => hit.snippet).join(" ")).toContain("release train");
    expect(store.takeNotices().join("\n")).toContain("was deleted while in use; rebuilt it from 0 transcripts (0 records) and 1 saved fact");
    expect(Bun.file(join(workspaceDir, MEMORY_DIR, MEMORY_DATABASE_FILE)).size).toBeGreaterThan(0);
  } finally {
    store.close();
  }
});
