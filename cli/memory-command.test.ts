import { afterAll, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MEMORY_DIR } from "../config/workspace-paths.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { orgCodeCopy } from "../testing/org-clone.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-memory-cli-"));
chmodSync(workspace, 0o755);
// org's code alone: the tools this checkout has promoted are no part of what memory does, and are then never read
// (so the gate does not count this file a reader of a candidate's tools).
const code = orgCodeCopy("org-memory-code-");
afterAll(() => {
  rmSync(workspace, { recursive: true, force: true });
  code[Symbol.dispose]();
});

/** `org …` as a real child process in the temp workspace. */
async function org(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(orgCommand([...args], { checkoutDir: code.dir }), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", ORG_EMBED_MODEL: "off", ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

const OPENAI_KEY = `sk-proj-${"Zq9x".repeat(12)}`;

test("org memory: chat --once is remembered; search (text and --json), forget, rebuild after deletion and damage", async () => {
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "The heron gateway answer is port 8443." } }] }, port: 0 });
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" };
  const once = await org(["chat", "--once", "@agent where does the heron gateway listen?", "--json"], env);
  expect(once.exitCode).toBe(0);
  const sessionId = (
    JSON.parse(
      readFileSync(join(workspace, ".org", "sessions", readdirSync(join(workspace, ".org", "sessions"))[0] as string), "utf8").split(
        "\n",
      )[0] as string,
    ) as { sessionId: string }
  ).sessionId;

  const found = await org(["memory", "search", "heron gateway", "--json", "--limit", "5"]);
  expect(found.exitCode).toBe(0);
  const parsed = JSON.parse(found.stdout) as { method: string; results: { sessionId: string; persona: string; snippet: string }[] };
  expect(parsed.method).toBe("fts");
  expect(parsed.results.map((hit) => hit.persona).sort()).toEqual(["agent", "user"]);
  expect(parsed.results.every((hit) => hit.sessionId === sessionId)).toBe(true);
  const text = await org(["memory", "search", "heron"]);
  expect(text.stdout).toContain(`session ${sessionId}`);
  expect(text.stdout).toContain("8443");

  // Odd queries are never errors: FTS5 syntax and a control character in one (memory/memory-store.test.ts tries each
  // of many hostile queries on the store itself).
  const odd = await org(["memory", "search", '"NEAR( x:* ( \u0007']);
  expect({ exitCode: odd.exitCode, stderr: odd.stderr }).toEqual({ exitCode: 0, stderr: "" });
  // A query that starts with "-" goes after "--", as for any command.
  expect((await org(["memory", "search", "--", "-heron"])).stdout).toContain("8443");

  // Deleted: rebuilt with a notice on the next use.
  rmSync(join(workspace, MEMORY_DIR, "memory.sqlite"));
  const afterDelete = await org(["memory", "search", "heron"]);
  expect(afterDelete.stderr).toContain("was missing; rebuilt it from 1 transcript");
  expect(afterDelete.stdout).toContain("8443");
  // Damaged: the same.
  writeFileSync(join(workspace, MEMORY_DIR, "memory.sqlite"), "garbage ".repeat(1000));
  for (const suffix of ["-wal", "-shm"]) rmSync(join(workspace, MEMORY_DIR, `memory.sqlite${suffix}`), { force: true });
  const afterDamage = await org(["memory", "search", "heron"]);
  expect(afterDamage.stderr).toContain("was damaged");
  expect(afterDamage.stdout).toContain("8443");

  const rebuilt = await org(["memory", "rebuild"]);
  expect(rebuilt.stdout).toMatch(/rebuilt memory from 1 transcript \(\d+ records\) and 0 saved facts/);

  const forgot = await org(["memory", "forget", "--session", sessionId]);
  expect(forgot.exitCode).toBe(0);
  expect(forgot.stdout).toContain(`forgot session ${sessionId}`);
  await org(["memory", "rebuild"]);
  expect((await org(["memory", "search", "heron"])).stdout).toContain("nothing in memory matches");

  const wrong = await org(["memory", "forget", "--fact", "f-nope"]);
  expect(wrong.exitCode).toBe(1);
  expect(wrong.stderr).toContain('memory has no fact "f-nope"');
  expect((await org(["memory", "forget"])).exitCode).toBe(2);
  expect((await org(["memory", "--help"])).stdout).toContain("forget --session ID | --fact ID");
});

test("the credential guard: --once sends a pasted key redacted, says so, and no copy keeps it", async () => {
  await using server = await startScriptedServer({ script: { rules: [{ reply: { text: "ok" } }] }, port: 0 });
  const env = { OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b" };
  const once = await org(["chat", "--once", `@agent my key is ${OPENAI_KEY} please use it`, "--json"], env);
  expect(once.exitCode).toBe(0);
  const events = once.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as RoomEvent);
  const notice = events.find((event) => event.type === "notice" && event.reason === "credential-guard");
  expect(notice && "message" in notice ? notice.message : "").toContain("an OpenAI API key; it went to the personas redacted");
  expect(once.stdout).not.toContain(OPENAI_KEY);
  const sent = JSON.stringify(server.requests.map((request) => request.body));
  expect(sent).not.toContain(OPENAI_KEY);
  expect(sent).toContain("my key is [REDACTED] please use it");
  const sessions = join(workspace, ".org", "sessions");
  for (const file of readdirSync(sessions)) expect(readFileSync(join(sessions, file), "utf8")).not.toContain(OPENAI_KEY);
  const search = await org(["memory", "search", "key please", "--json"]);
  expect(search.stdout).toContain("[REDACTED]");
  expect(search.stdout).not.toContain(OPENAI_KEY);
});
