import { afterAll, beforeAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { TmuxServer, uniqueSessionName } from "../../testing/tmux.ts";
import { shellWord } from "../../security/shell-word.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-tmux-guard-"));
chmodSync(workspace, 0o755);
const KEY = `ghp_${"a1B2c3D4e5F6".repeat(3)}`;

let server: Awaited<ReturnType<typeof startScriptedServer>>;
let tmux: TmuxServer;
beforeAll(async () => {
  tmux = await TmuxServer.start();
  server = await startScriptedServer({ script: { models: ["scripted"], rules: [{ reply: { text: "noted, thanks." } }] }, port: 0 });
});
afterAll(async () => {
  await tmux?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

/** The user messages the scripted server has received, in order. */
function userMessagesSent(): string[] {
  return server.requests
    .filter((request) => request.path.endsWith("/chat/completions"))
    .map(
      (request) =>
        (request.body as { messages: { role: string; content: string }[] }).messages.filter((message) => message.role === "user").at(-1)?.content ??
        "",
    );
}

function everything(dir: string): string {
  if (!existsSync(dir)) return "";
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), "latin1"))
    .join("\n");
}

test("a pasted token is held with a question: Enter sends it redacted, w as written (kept redacted on disk), e puts it back on the line; /recall finds it redacted", async () => {
  const session = uniqueSessionName("org-guard");
  const command = [
    `OLLAMA_BASE=${shellWord(server.url)} OLLAMA_MODEL=scripted NO_COLOR=1 ORG_EMBED_MODEL=off`,
    `exec ${orgCommand(["chat", "--workspace", workspace]).map(shellWord).join(" ")}`,
  ].join(" ");
  await tmux.newSession(session, command, { cwd: workspace, width: 160 });
  // The pane stays after org leaves, so its last words can be read.
  await tmux.tmux("set-option", "-t", session, "remain-on-exit", "on");
  await tmux.waitFor(session, "group ›", 30_000);

  // 1. Enter at the question: sent redacted.
  await tmux.type(session, `@agent deploy with ${KEY} today`);
  await tmux.keys(session, "Enter");
  const asked = await tmux.waitFor(session, "send it [r]edacted (Enter) / as [w]ritten / [e]dit:");
  expect(asked).toContain("Your message holds what looks like a GitHub token. Redacted, it reads:");
  expect(asked).toContain("@agent deploy with [REDACTED] today");
  expect(userMessagesSent()).toEqual([]);
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /agent +╰/);
  expect(userMessagesSent()).toEqual(["@agent deploy with [REDACTED] today"]);

  // 2. w: the model gets it as written; the transcript, memory and input history do not.
  await tmux.type(session, `@agent really use ${KEY} now`);
  await tmux.keys(session, "Enter");
  // The pane still shows the first question: wait for the second.
  await tmux.waitFor(session, /(\[e\]dit:[\s\S]*){2}/);
  // One key answers on a terminal: no Enter after it.
  await tmux.type(session, "w");
  await tmux.waitFor(session, /went to the personas as written/);
  await tmux.waitFor(session, /agent +╰[\s\S]*agent +╰/);
  expect(userMessagesSent().at(-1)).toBe(`@agent really use ${KEY} now`);

  // 3. e: nothing is sent, and the message is back on the line to change.
  const before = userMessagesSent().length;
  await tmux.type(session, `@agent one more ${KEY}`);
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /(\[e\]dit:[\s\S]*){3}/);
  await tmux.type(session, "e");
  const back = await tmux.waitFor(session, new RegExp(`not sent; your message is back on the line to edit\\.\\s*\\ngroup › @agent one more ${KEY}`));
  expect(back).toContain("not sent");
  expect(userMessagesSent()).toHaveLength(before);
  await tmux.keys(session, "C-u");

  // /recall finds the earlier messages of this session in memory, redacted as they were stored.
  await tmux.type(session, "/recall deploy today");
  await tmux.keys(session, "Enter");
  const recalled = await tmux.waitFor(session, /searched memory with full-text \(BM25\)\n[\s\S]*deploy with \[REDACTED\] today/);
  expect(recalled).toMatch(/ 1\. \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  session \S+  user \(message\)/);
  // /save writes the conversation under .org/transcripts/: the message sent as written is redacted there too.
  await tmux.type(session, "/save");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, "saved the conversation to");
  await tmux.type(session, "/quit");
  await tmux.keys(session, "Enter");
  await tmux.waitFor(session, /--resume \S+/);

  const onDisk = everything(join(workspace, ".org"));
  expect(onDisk).toContain("[REDACTED]");
  expect(onDisk).not.toContain(KEY);
}, 90_000);
