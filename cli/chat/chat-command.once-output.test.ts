// `org chat --once` writes its lines straight to a pipe (cli/terminal/standard-output.ts): a reply longer than the pipe
// holds, read only after the pipe filled, arrives whole; a reader that leaves after a few bytes stops the turn (exit 1)
// and no error is printed for it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { orgCommand } from "../../config/org-bun-command.ts";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-chat-once-output-"));
chmodSync(workspace, 0o755);
// 150 kB in one line: more than twice what a pipe holds.
const REPLY = Array.from({ length: 15_000 }, (_, i) => `w${String(i).padStart(5, "0")}-xx`).join(" ");
let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: REPLY } }, port: 0 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

const ONCE = orgCommand(["chat", "--once", "hello", "--mode", "direct:agent", "--workspace", workspace]);

function spawned(argv: string[]) {
  return Bun.spawn(argv, {
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 90_000,
  });
}

test("a reply longer than the pipe holds, read only once the pipe is full, arrives whole", async () => {
  // A reader that starts 1.5 s late (a pipe this process reads is drained as it fills): the reply comes at once (the
  // scripted server does not pace it), so org waits on the full pipe until the reader comes. Its exit code follows.
  const child = spawned(["/bin/sh", "-c", '{ "$@"; echo "exit $?" >&2; } | { sleep 1.5; cat; }', "sh", ...ONCE]);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(stderr).toMatch(/^transcript: .*\.jsonl\nexit 0\n$/);
  const replyLine = stdout.split("\n").find((line) => line.startsWith("agent"));
  expect(replyLine?.replace(/^agent\s*│ /, "") === REPLY).toBe(true);
}, 120_000);

test("a reader that leaves after a few bytes stops the turn: exit 1, nothing said about it", async () => {
  const child = spawned(ONCE);
  const reader = child.stdout.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  await reader.cancel();
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(exitCode).toBe(1);
  expect(stderr).not.toContain("EPIPE");
  expect(stderr).not.toContain("unexpected error");
}, 120_000);
