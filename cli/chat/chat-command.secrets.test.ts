import { afterAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-secrets-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

test("chat --once --json: a key the server echoes in its reply and in a 401 body is in no output and not in the transcript", async () => {
  const key = "k1-Pm4Qs7Tv0Wy3Zb6Cd9";
  await using server = await startScriptedServer({
    script: {
      rules: [
        { when: { persona: "agent" }, reply: { text: `Your key is ${key}, keep it.`, reasoning: `I saw ${key}`, chunkSize: 2 } },
        { when: { persona: "python" }, reply: { fault: { status: 401, message: `invalid key ${key}` } } },
      ],
    },
  });
  const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace, "--once", "my key?", "--json"]), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "qwen3:8b", OPENAI_API_KEY: key },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  // The key was in play: the server got it, and its answers carried it.
  expect(server.requests.some((request) => request.authorization === `Bearer ${key}`)).toBe(true);
  expect(stdout).toContain("HTTP 401");
  expect(stdout).toContain("[REDACTED]");
  expect(stdout).not.toContain(key);
  expect(stderr).not.toContain(key);
  const sessions = join(workspace, ".org", "sessions");
  const transcripts = readdirSync(sessions).map((file) => readFileSync(join(sessions, file), "utf8"));
  expect(transcripts.join("")).toContain("Your key is [REDACTED]");
  expect(transcripts.join("")).not.toContain(key);
});
