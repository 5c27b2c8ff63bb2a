import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ScriptInput } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { orgCommand } from "../config/org-bun-command.ts";
import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { startOrgTelegram } from "../testing/org-telegram-process.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type BotMessage, TelegramStandIn } from "../testing/telegram-bot-api.ts";
import { parseTelegramHtml } from "../testing/telegram-html-parser.ts";

// `org telegram` as a user starts it: a real process, the scripted model server and a Bot API stand-in on 127.0.0.1.
// Each case has a bot, a model server, a stand-in and a workspace of its own, and spends most of its time waiting on
// the bot's pacing (a write a second per chat) and its model's streams: the cases run at once (`test.concurrent`).
const TOKEN = "7265431980:AAH-test-token-Zx9qW3eRt5yU7iO1pAsDfGhJ";
const ME = 5551001;
const OTHER = 5551002;
const STRANGER = 9990001;

const workspaces: string[] = [];
afterAll(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

const STREAMED = "First words arrive, then more of them, and the reply keeps growing until it is whole: a streamed answer.";
const LINE = "x = compute_something(value, other_value)  # a line of the program";
const LONG_REPLY = [
  "Here is the program.",
  "```python",
  ...Array.from({ length: 160 }, (_, index) => `${LINE} ${index}`),
  "```",
  "And that is all of it.",
].join("\n");

const PATCH = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-print('helo')\n+print('hello')\n";

const SCRIPT: ScriptInput = {
  rules: [
    { when: { lastMessage: "stream please" }, reply: { text: STREAMED, chunkSize: 3, delayMs: 60 } },
    { when: { lastMessage: "long please" }, reply: { text: LONG_REPLY, chunkSize: 400 } },
    // Held only the first time: the bot is killed while it waits; the restart's asking is answered at once.
    { when: { lastMessage: "wait please", times: 1 }, reply: { text: "worth the wait", firstByteDelayMs: 4_000 } },
    { when: { lastMessage: "wait please" }, reply: { text: "worth the wait" } },
    { when: { lastMessage: "quick please" }, reply: { text: "A quick answer, in one piece." } },
    { when: { lastMessage: "patch please" }, reply: { text: `The fix:\n\`\`\`diff\n${PATCH}\`\`\`\nApply it with git apply.` } },
    { when: { lastMessage: "slow please" }, reply: { text: "This answer takes its time: ".concat("word ".repeat(200)), chunkSize: 2, delayMs: 50 } },
    { when: { lastMessage: "which kernel", times: 1 }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "uname -s" } }] } },
    // The photo of the files test is the stand-in's first update (its ids start at 100000).
    {
      when: { lastMessage: "send it back please", times: 1 },
      reply: { toolCalls: [{ name: "send_file", arguments: { path: "/scratch/telegram/100000-photo.jpg" } }] },
    },
    { when: { lastRole: "tool" }, reply: { text: "the tool said: {{lastMessage}}" } },
    { reply: { text: "plain answer" } },
  ],
};

/** A workspace whose org.config.json points the bot at `standIn`; agent's sh asks first. */
function workspace(standIn: TelegramStandIn, more: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "org-telegram-e2e-"));
  chmodSync(dir, 0o755);
  workspaces.push(dir);
  // The test is the person who wrote it: the bot's server and chats are confirmed, as 'org config trust' does.
  writeConfirmedConfig(dir, {
    mode: "direct:agent",
    personas: [{ name: "agent", kind: "agent", tools: { sh: "ask" } }],
    telegram: { apiBase: standIn.url, allowedChats: [ME, String(OTHER)], pollTimeoutS: 2 },
    ...more,
  });
  return dir;
}

async function started(dir: string, modelUrl: string) {
  return startOrgTelegram({ args: ["telegram", "--workspace", dir], modelUrl, env: { TELEGRAM_BOT_TOKEN: TOKEN } });
}

const lastText = (messages: BotMessage[]) => messages.at(-1)?.text ?? "";

/** Whether the bot's state file holds no message taken and none begun: every turn it took is over. */
function settled(statePath: string): boolean {
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { taken?: unknown[]; begun?: Record<string, unknown> };
  return Array.isArray(state.taken) && state.taken.length === 0 && Object.keys(state.begun ?? {}).length === 0;
}

describe("org telegram against a Bot API stand-in", () => {
  test.concurrent("an allowed chat's question is answered as a stream of edits, at most one write a second; a stranger's is dropped", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN, { minGapMs: 900 });
    const dir = workspace(standIn);
    const bot = await started(dir, model.url);
    try {
      await standIn.waitFor(() => standIn.commands.length > 0, "setMyCommands");
      expect(standIn.commands.map((entry) => entry.command)).toEqual([
        "start",
        "status",
        "stop",
        "budget",
        "mode",
        "models",
        "use",
        "tools",
        "clear",
        "recall",
        "facts",
        "undo",
        "wish",
        "mcp",
        "help",
      ]);
      standIn.pushText(STRANGER, "let me in");
      standIn.pushText(STRANGER, "please?");
      standIn.pushText(ME, "stream please");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("a streamed answer.")), "the whole answer", 30_000);
      const [reply] = standIn.messages(ME);
      expect(reply?.text).toBe(`agent\n${STREAMED}`);
      expect(reply?.html.startsWith("<b>agent</b>\n")).toBe(true);
      // Streamed: the message was sent with the first words and edited as the reply grew.
      expect(reply?.versions.length).toBeGreaterThan(2);
      expect(reply?.versions[0]?.length).toBeLessThan(reply?.text.length ?? 0);
      const writes = standIn.writes(ME);
      for (let index = 1; index < writes.length; index++)
        expect((writes[index] as number) - (writes[index - 1] as number)).toBeGreaterThanOrEqual(900);
      expect(standIn.calls.filter((call) => call.status === 429)).toEqual([]);
      // The stranger got nothing: no call names its chat, and its updates were confirmed all the same.
      expect(standIn.calls.filter((call) => String(call.params.chat_id) === String(STRANGER))).toEqual([]);
      await standIn.waitFor(() => standIn.pendingUpdates.length === 0, "every update confirmed");
      const audit = readdirSync(join(dir, ".org", "audit"))
        .map((name) => readFileSync(join(dir, ".org", "audit", name), "utf8"))
        .join("");
      expect(audit.match(/stranger-dropped/g)?.length).toBe(1);
      expect(audit).toContain(String(STRANGER));
      expect(bot.stderr()).toContain(`dropped an update from chat ${STRANGER}`);
    } finally {
      await bot.stop();
      await standIn.stop();
    }
    expect(bot.stderr()).not.toContain(TOKEN);
  }, 90_000);

  test.concurrent("an approval is answered by button; a forged, reused or other chat's button is refused and audited", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const bot = await started(dir, model.url);
    try {
      standIn.openChat(OTHER);
      standIn.pushText(ME, "which kernel is this?");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.markup !== undefined), "the approval question");
      const question = standIn.messages(ME).find((message) => message.markup !== undefined) as BotMessage;
      expect(question.text).toContain("agent asks to run sh");
      expect(question.text).toContain('"cmd": "uname -s"');
      const [approve, deny] = question.markup?.inline_keyboard[0] ?? [];
      expect([approve?.text, deny?.text]).toEqual(["✅ Approve", "❌ Deny"]);
      const approveData = approve?.callback_data as string;
      expect(Buffer.byteLength(approveData)).toBeLessThanOrEqual(64);
      expect(approveData).not.toContain(question.text.slice(0, 8));

      const forged = standIn.pushCallback(ME, question.messageId, "not-a-button-org-gave");
      const fromOther = standIn.pushCallback(OTHER, question.messageId, approveData);
      await standIn.waitFor(() => standIn.answered.has(forged) && standIn.answered.has(fromOther), "the refusals");
      expect(standIn.answered.get(forged)).toEqual({ text: expect.stringContaining("Refused: this button is not one org gave"), showAlert: true });
      expect(standIn.answered.get(fromOther)).toEqual({ text: "Refused: this button belongs to another chat.", showAlert: true });
      expect(standIn.messages(ME).some((message) => message.text.includes("the tool said"))).toBe(false);

      const pressed = standIn.pushCallback(ME, question.messageId, approveData);
      await standIn.waitFor(
        () => standIn.messages(ME).some((message) => message.text.includes("the tool said")),
        "the reply after the tool ran",
        30_000,
      );
      expect(standIn.answered.get(pressed)).toEqual({ text: "Approved", showAlert: false });
      expect(standIn.messages(ME).find((message) => message.text.includes("the tool said"))?.text).toContain("Linux");
      await standIn.waitFor(() => question.markup === undefined, "the question's buttons gone");
      expect(question.text).toContain("✅ approved by telegram");
      const again = standIn.pushCallback(ME, question.messageId, approveData);
      const denyLate = standIn.pushCallback(ME, question.messageId, deny?.callback_data as string);
      await standIn.waitFor(() => standIn.answered.has(again) && standIn.answered.has(denyLate), "the late presses");
      expect(standIn.answered.get(again)?.text).toBe("Refused: this question was already answered.");
      expect(standIn.answered.get(denyLate)?.text).toBe("Refused: this question was already answered.");
      const audit = readdirSync(join(dir, ".org", "audit"))
        .map((name) => readFileSync(join(dir, ".org", "audit", name), "utf8"))
        .join("");
      expect(audit.match(/button-refused/g)?.length).toBe(4);
    } finally {
      await bot.stop();
      await standIn.stop();
    }
  }, 90_000);

  test.concurrent("a message holding a secret is refused with a reply saying why, and stored nowhere", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const bot = await started(dir, model.url);
    const secret = "sk-proj-Q7wE9rT1yU3iO5pA7sD9fG1hJ3kL5zX7cV9bN1mQ2wE4";
    try {
      standIn.pushText(ME, `here is my key ${secret}, use it`);
      standIn.pushText(ME, "/wish a tool that remembers password=hunter2hunter2hunter2");
      await standIn.waitFor(() => standIn.messages(ME).filter((message) => message.text.startsWith("Not sent")).length === 2, "the two refusals");
      const [first] = standIn.messages(ME);
      expect(first?.text).toMatch(
        /^Not sent to the room: your message held what looks like an OpenAI API key\. .*nothing of that message was stored/,
      );
      standIn.pushText(ME, "quick please");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("A quick answer")), "the next answer", 30_000);
    } finally {
      await bot.stop();
      await standIn.stop();
    }
    const everything = (folder: string): string =>
      readdirSync(folder, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile())
        .map((entry) => readFileSync(join(entry.parentPath, entry.name), "latin1"))
        .join("");
    const stored = everything(join(dir, ".org"));
    expect(stored).toContain("quick please");
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain("hunter2hunter2");
    expect(JSON.stringify(model.requests)).not.toContain(secret);
  }, 90_000);

  test.concurrent("a 10 000-character reply comes in parts under Telegram's limit, its code block closed and reopened", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const bot = await started(dir, model.url);
    try {
      standIn.pushText(ME, "long please");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("And that is all of it.")), "the last part", 30_000);
      const parts = standIn.messages(ME);
      expect(LONG_REPLY.length).toBeGreaterThan(10_000);
      expect(parts.length).toBeGreaterThanOrEqual(3);
      for (const part of parts) {
        expect(part.text.length).toBeLessThanOrEqual(4096);
        expect(parseTelegramHtml(part.html).text).toBe(part.text);
      }
      // Every part but the first continues the code block: it opens it again with its language, and closes it.
      for (const part of parts.slice(1)) expect(part.html).toContain('<pre><code class="language-python">');
      for (const part of parts.slice(0, -1)) expect(part.html.trimEnd().endsWith("</code></pre>")).toBe(true);
      // Nothing lost, nothing twice: the parts' code lines are the reply's, in order.
      const codeLines = parts.flatMap((part) => part.text.split("\n").filter((line) => line.startsWith(LINE)));
      expect(codeLines).toEqual(Array.from({ length: 160 }, (_, index) => `${LINE} ${index}`));
      expect(parts[0]?.text.startsWith("agent\nHere is the program.")).toBe(true);
      expect(parts[1]?.text.startsWith("agent (continued)\n")).toBe(true);

      // A patch in a reply comes as a file too.
      standIn.pushText(ME, "patch please");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.document !== undefined), "the patch as a file", 30_000);
      const file = standIn.messages(ME).find((message) => message.document !== undefined);
      expect(file?.document).toMatchObject({ fileName: "agent-1.diff", content: PATCH, caption: "agent's diff" });
    } finally {
      await bot.stop();
      await standIn.stop();
    }
  }, 90_000);

  test.concurrent("a photo reaches the persona as a file in scratch, a sticker gets a short reply; " +
    "commands answer; a 429 waits retry_after", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    // A daily limit far above what the test spends: /budget says what is left of it.
    const dir = workspace(standIn, { limits: { tokensPerDay: 5_000_000 } });
    const bot = await started(dir, model.url);
    try {
      standIn.failNext("sendMessage", { code: 429, description: "Too Many Requests: retry after 1", retryAfter: 1 });
      const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 1)]);
      const photoUpdate = standIn.pushFile(ME, "photo", photo, { caption: "what is in this picture?" });
      standIn.pushMedia(ME, "sticker");
      await standIn.waitFor(() => standIn.messages(ME).length === 2, "two replies", 30_000);
      const texts = standIn.messages(ME).map((message) => message.text);
      expect(texts.filter((text) => text.startsWith("I read text, documents, photos, voice notes"))).toHaveLength(1);
      expect(texts).toContain("agent\nplain answer");
      const saved = `/scratch/telegram/${photoUpdate}-photo.jpg`;
      const asked = JSON.stringify(model.requests);
      expect(asked).toContain(`saved at ${saved} (64 bytes, image/jpeg (JPEG image))`);
      expect(asked).toContain("what is in this picture?");
      const sessions = readdirSync(join(dir, ".org", "scratch"));
      expect(sessions.some((session) => readFileSync(join(dir, ".org", "scratch", session, saved.slice("/scratch/".length))).equals(photo))).toBe(
        true,
      );
      const limited = standIn.calls.findIndex((call) => call.status === 429);
      expect(limited).toBeGreaterThanOrEqual(0);
      const retried = standIn.calls.slice(limited + 1).find((call) => call.method === "sendMessage" && call.status === 200);
      expect((retried?.at ?? 0) - (standIn.calls[limited]?.at ?? 0)).toBeGreaterThanOrEqual(950);

      // And back: the agent's send_file asks first (its default), and the approved file comes to this chat as a document.
      expect(photoUpdate).toBe(100_000);
      standIn.pushText(ME, "send it back please");
      const asksToSend = (message: BotMessage) => message.markup !== undefined && message.text.includes("agent asks to run send_file");
      await standIn.waitFor(() => standIn.messages(ME).some(asksToSend), "send_file's question", 30_000);
      const question = standIn.messages(ME).find(asksToSend) as BotMessage;
      standIn.pushCallback(ME, question.messageId, question.markup?.inline_keyboard[0]?.[0]?.callback_data as string);
      await standIn.waitFor(
        () => standIn.messages(ME).some((message) => message.document?.fileName === "100000-photo.jpg"),
        "the photo sent back",
        30_000,
      );
      expect(standIn.messages(ME).find((message) => message.document?.fileName === "100000-photo.jpg")?.document?.mimeType).toBe("image/jpeg");

      // Each chat's answers are written a second apart: the commands that need no earlier one go to the other chat, at once.
      standIn.pushText(OTHER, "/tools");
      standIn.pushText(OTHER, "/stop");
      standIn.pushText(OTHER, "/status");
      standIn.pushText(ME, "/start");
      await standIn.waitFor(() => lastText(standIn.messages(ME)).startsWith("org is listening"), "/start's answer");
      const session = /org chat --resume ([\w-]+)/.exec(lastText(standIn.messages(ME)))?.[1] ?? "";
      expect(readdirSync(join(dir, ".org", "sessions"))).toContain(`${session}.jsonl`);
      standIn.pushText(ME, "/mode@org_test_bot group");
      await standIn.waitFor(() => lastText(standIn.messages(ME)) === "mode: group", "/mode's answer");
      standIn.pushText(ME, "/mode nobody-here");
      // Read by the room's one interpreter, as the terminal reads it: a mode typed wrong is refused with the usage.
      await standIn.waitFor(() => lastText(standIn.messages(ME)).startsWith("/mode 'nobody-here' is not a mode"), "/mode's refusal");
      standIn.pushText(ME, "/wish a tool that converts currencies");
      await standIn.waitFor(() => lastText(standIn.messages(ME)).startsWith("wished"), "/wish's answer");
      expect(readFileSync(join(dir, ".org", "sessions", `${session}.jsonl`), "utf8")).toContain("a tool that converts currencies");
      standIn.pushText(ME, "/undo");
      await standIn.waitFor(() => lastText(standIn.messages(ME)).startsWith("/undo:"), "/undo's answer");
      await standIn.waitFor(() => standIn.messages(OTHER).length === 3, "the other chat's three answers");
      const [toolsAnswer, stopAnswer, statusAnswer] = standIn.messages(OTHER).map((message) => message.text);
      expect(toolsAnswer).toStartWith("agent:");
      expect(toolsAnswer).toContain("sh (asks)");
      expect(stopAnswer).toBe("nothing was running.");
      expect(statusAnswer).toStartWith("instances:");
      expect(statusAnswer).toMatch(/grow:[\s\S]*supervisor:/);

      // The room's commands, read by the room's own parser, half in each chat (each chat's writes are a second apart).
      // The other chat's session has had no reply; this one's had the photo's.
      for (const command of ["/budget", "/models", "/use agent no-such-model", "/use agent qwen3:8b", "/facts"]) standIn.pushText(OTHER, command);
      for (const command of ["/use agent", "/clear", "/mcp trust files", "/mcp", "/memory picture"]) standIn.pushText(ME, command);
      const mine = standIn.messages(ME).length;
      await standIn.waitFor(
        () => standIn.messages(OTHER).length === 8 && standIn.messages(ME).length === mine + 5,
        "the room commands' ten answers",
        30_000,
      );
      // Commands do not wait for each other: their answers are found by what they say.
      const answers = [...standIn.messages(OTHER).slice(3), ...standIn.messages(ME).slice(mine)].map((message) => message.text);
      const answer = (start: string) => answers.find((text) => text.startsWith(start)) ?? `(no answer starting ${start})`;
      const [thisSession, today] = answer("this session:").split("\n");
      expect(thisSession).toBe("this session: 0 tokens used, 1000000 left of 1000000 (limits.sessionTokens).");
      const dayLine = /^today \(since 00:00 UTC\), every session of this workspace: ([1-9]\d*) tokens used, (\d+) left of 5000000/;
      const [, usedToday, leftToday] = dayLine.exec(today ?? "") ?? [];
      expect(today).toEndWith(" left of 5000000 (limits.tokensPerDay).");
      expect(Number(usedToday) + Number(leftToday)).toBe(5_000_000);
      expect(answer("agent: ")).toContain("has: qwen3:8b");
      expect(answers.filter((text) => text.includes("no-such-model"))).toHaveLength(1);
      expect(answers).toContain("agent now uses qwen3:8b.");
      expect(answers).toContain("/use needs a persona and a model, e.g. /use agent qwen3:8b. Usage: /use <persona> <model>");
      expect(answer("cleared:")).toContain("forget this conversation");
      expect(answers).toContain("/mcp trust is for the terminal: run 'org chat' there and type /mcp trust files.");
      expect(answer("no MCP servers")).toContain("mcpServers");
      expect(answers.filter((text) => text.startsWith("searched memory with full-text (BM25)"))).toHaveLength(1);
      // The observer's proposals, by the one function the terminal and the web room run: none yet in this workspace.
      expect(answers).toContain("no facts wait for you: the observer has proposed nothing new about you.");
    } finally {
      await bot.stop();
      await standIn.stop();
    }
  }, 90_000);

  test.concurrent("kill -9 mid-stream, then a restart: each update is handled once, and the cut answer is said to be cut", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const first = await started(dir, model.url);
    standIn.pushText(ME, "slow please");
    await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("takes its time")), "the answer streaming", 30_000);
    await first.stop("SIGKILL");
    standIn.pushText(ME, "quick please");
    const second = await started(dir, model.url);
    try {
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("A quick answer")), "the next answer", 30_000);
      await standIn.waitFor(() => standIn.pendingUpdates.length === 0, "every update confirmed");
      const texts = standIn.messages(ME).map((message) => message.text);
      expect(texts.filter((text) => text.includes("org restarted while it answered “slow please”"))).toHaveLength(1);
      expect(texts.filter((text) => text.includes("A quick answer"))).toHaveLength(1);
      const asked = (words: string) => model.requests.filter((request) => JSON.stringify(request.body).includes(words)).length;
      expect(asked("slow please")).toBeGreaterThanOrEqual(1);
      // The cut message was not run again: the only request after the restart is the new message's (with the old in its history).
      const lastUserText = (request: (typeof model.requests)[number]) => {
        // A window discovery's GET has no body (null).
        const messages = ((request.body ?? {}) as { messages?: { role: string; content: unknown }[] }).messages ?? [];
        return JSON.stringify(messages.filter((message) => message.role === "user").at(-1)?.content ?? "");
      };
      expect(model.requests.filter((request) => lastUserText(request).includes("slow please"))).toHaveLength(1);
      expect(model.requests.filter((request) => lastUserText(request).includes("quick please"))).toHaveLength(1);
    } finally {
      await second.stop();
      await standIn.stop();
    }
  }, 120_000);

  test.concurrent("a second poller, or a webhook, is a clear error that never shows the token; no token is one too", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    // A bot API whose webhook is set, of its own, so its bot starts beside the two pollers.
    const hookedApi = TelegramStandIn.start(TOKEN);
    hookedApi.webhook = true;
    const hooked = startOrgTelegram({
      args: ["telegram", "--workspace", workspace(hookedApi)],
      modelUrl: model.url,
      env: { TELEGRAM_BOT_TOKEN: TOKEN },
    });
    // Awaited below; a start that fails meanwhile is said there, not as an unhandled rejection.
    hooked.catch(() => undefined);
    // The two that never poll run beside the rest: a refused token stops at getMe, a missing one before any call.
    const wrong = await startOrgTelegram({
      args: ["telegram", "--workspace", workspace(standIn)],
      modelUrl: model.url,
      env: { TELEGRAM_BOT_TOKEN: "123:wrong-token-of-nobody" },
      waitReady: false,
    });
    const none = await startOrgTelegram({
      args: ["telegram", "--workspace", workspace(standIn)],
      modelUrl: model.url,
      env: { TELEGRAM_BOT_TOKEN: "" },
      waitReady: false,
    });
    const first = await started(workspace(standIn), model.url);
    const second = await started(workspace(standIn), model.url);
    try {
      expect(await first.exited).toBe(1);
      expect(first.stderr()).toContain("another program takes this bot's updates (409 Conflict: terminated by other getUpdates request");
      expect(first.stderr()).not.toContain(TOKEN);
      expect(first.stderr()).not.toContain(TOKEN.split(":")[1] as string);
    } finally {
      await second.stop();
    }
    const hookedBot = await hooked;
    expect(await hookedBot.exited).toBe(1);
    await hookedApi.stop();
    expect(hookedBot.stderr()).toContain(
      "another program takes this bot's updates (409 Conflict: can't use getUpdates method while webhook is active",
    );
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr()).toContain("the Bot API refused the bot's token (401 Unauthorized): check TELEGRAM_BOT_TOKEN");
    expect(wrong.stderr()).not.toContain("wrong-token-of-nobody");
    expect(await none.exited).toBe(1);
    expect(none.stderr()).toContain("TELEGRAM_BOT_TOKEN is not set: ask BotFather");
    await standIn.stop();
  }, 120_000);

  test.concurrent("serve --telegram: the chat's session is the HTTP API's and the terminal's; " +
    "an approval answered over HTTP closes the buttons", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const apiToken = "serve-telegram-token-8";
    const auth = { authorization: `Bearer ${apiToken}`, "content-type": "application/json" };
    const served = await startOrgTelegram({
      args: ["serve", "--port", "0", "--telegram", "--workspace", dir],
      modelUrl: model.url,
      env: { TELEGRAM_BOT_TOKEN: TOKEN, ORG_API_TOKEN: apiToken },
    });
    let session = "";
    try {
      await waitUntil("serve's listening line", () => /listening on http/.test(served.stdout()), 30_000);
      const base = /listening on (http:\/\/\S+)/.exec(served.stdout())?.[1] as string;
      standIn.pushText(ME, "which kernel is this?");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.markup !== undefined), "the approval question");
      const question = standIn.messages(ME).find((message) => message.markup !== undefined) as BotMessage;
      const approveData = question.markup?.inline_keyboard[0]?.[0]?.callback_data as string;
      const listed = (await (await fetch(`${base}/v1/sessions`, { headers: auth })).json()) as { sessions: { id: string }[] };
      session = listed.sessions[0]?.id ?? "";
      const state = JSON.parse(readFileSync(join(dir, ".org", "telegram", "state.json"), "utf8")) as { chats: Record<string, string> };
      expect(state.chats[String(ME)]).toBe(session);
      const opened = (await (await fetch(`${base}/v1/sessions/${session}`, { headers: auth })).json()) as {
        pendingApprovals: { approvalId: string }[];
      };
      const approvalId = opened.pendingApprovals[0]?.approvalId as string;
      const answered = await fetch(`${base}/v1/sessions/${session}/approvals/${approvalId}`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ answer: "yes", by: "web" }),
      });
      expect(answered.status).toBe(200);
      await standIn.waitFor(() => question.markup === undefined, "the buttons gone");
      expect(question.text).toContain("✅ approved by web");
      const late = standIn.pushCallback(ME, question.messageId, approveData);
      await standIn.waitFor(() => standIn.answered.has(late), "the late press");
      expect(standIn.answered.get(late)?.text).toBe("Refused: this question was already answered.");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("the tool said")), "the reply", 30_000);
    } finally {
      await served.stop();
      await standIn.stop();
    }
    expect(served.stderr()).not.toContain(TOKEN);
    // The terminal resumes the chat's session: the model hears what was said in Telegram.
    // Spawned, not spawnSync: the model server answers from this process.
    const resumed = Bun.spawn(orgCommand(["chat", "--workspace", dir, "--resume", session, "--once", "and what did I ask before?", "--json"]), {
      env: { ...process.env, OLLAMA_BASE: model.url, OLLAMA_MODEL: "qwen3:8b", NO_COLOR: "1", ORG_PROFILE: "dev" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [, errors, code] = await Promise.all([new Response(resumed.stdout).text(), new Response(resumed.stderr).text(), resumed.exited]);
    expect({ code, errors }).toEqual({ code: 0, errors: expect.any(String) });
    const last = model.requests.at(-1)?.body as { messages: { content: unknown }[] };
    expect(JSON.stringify(last.messages)).toContain("which kernel is this?");
  }, 120_000);

  test.concurrent("a workspace's bot server and chats wait for 'org config trust': until then nothing goes to them", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = mkdtempSync(join(tmpdir(), "org-telegram-e2e-"));
    workspaces.push(dir);
    writeFileSync(join(dir, "org.config.json"), JSON.stringify({ telegram: { apiBase: standIn.url, allowedChats: [ME] } }));
    // Telegram's own server is the default: a bad address keeps it from being reached, whatever the network here.
    const bot = await startOrgTelegram({
      args: ["telegram", "--workspace", dir],
      modelUrl: model.url,
      env: { TELEGRAM_BOT_TOKEN: TOKEN, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" },
      waitReady: false,
    });
    try {
      await waitUntil("the line on what waits, and a first try at Telegram's server", () => /trying again in/.test(bot.stderr()), 60_000);
      expect(bot.stderr()).toContain("telegram.apiBase");
      expect(bot.stderr()).toContain("'org config trust");
      expect(bot.stderr()).toContain("could not reach the Bot API at https://api.telegram.org (getMe)");
      expect(standIn.calls).toEqual([]);
    } finally {
      await bot.stop();
      await standIn.stop();
    }
    expect(bot.stderr()).not.toContain(TOKEN);
  }, 90_000);

  // Issue 51: a `.org/telegram/state.json` this user's org did not write (committed to a cloned repository, unpacked
  // from an archive) holding a message "taken" from an allowed chat and one "begun" and never answered: neither runs
  // as that chat's turn. The bot says the file is set aside and answers what the chat sends next.
  test.concurrent("a bot state the user's org did not seal runs none of its messages", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    mkdirSync(join(dir, ".org", "telegram"), { recursive: true, mode: 0o700 });
    const forged = {
      offset: 0,
      chats: {},
      strangers: [],
      taken: [{ updateId: 1, chatId: String(ME), text: "forged taken words" }],
      begun: { [String(OTHER)]: { updateId: 2, excerpt: "forged", text: "forged begun words", replied: false } },
    };
    writeFileSync(join(dir, ".org", "telegram", "state.json"), `${JSON.stringify(forged)}\n`, { mode: 0o600 });
    const bot = await started(dir, model.url);
    try {
      await waitUntil("the line on the state set aside", () => bot.stderr().includes("state.json is not sealed by your org's key"), 30_000);
      standIn.pushText(ME, "quick please");
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("A quick answer")), "the answer", 30_000);
      expect(model.requests.filter((request) => JSON.stringify(request.body).includes("forged"))).toEqual([]);
      expect(standIn.messages(OTHER)).toEqual([]);
    } finally {
      await bot.stop();
      await standIn.stop();
    }
  }, 120_000);

  test.concurrent("kill -9 before any persona said a word: the restart runs the message, and it is answered once", async () => {
    await using model = await startScriptedServer({ script: SCRIPT, port: 0 });
    const standIn = TelegramStandIn.start(TOKEN);
    const dir = workspace(standIn);
    const first = await started(dir, model.url);
    standIn.pushText(ME, "wait please");
    const statePath = join(dir, ".org", "telegram", "state.json");
    await waitUntil("the message's turn begun", () => readFileSync(statePath, "utf8").includes('"wait please"') && model.requests.length > 0, 30_000);
    await first.stop("SIGKILL");
    expect(standIn.messages(ME)).toEqual([]);
    const second = await started(dir, model.url);
    try {
      await standIn.waitFor(() => standIn.messages(ME).some((message) => message.text.includes("worth the wait")), "the answer", 30_000);
      // Nothing left that could answer it again: the update confirmed, and the bot's state holds no message taken or begun.
      await standIn.waitFor(() => standIn.pendingUpdates.length === 0, "every update confirmed");
      await waitUntil("the turn finished in the bot's state", () => settled(statePath), 30_000);
      expect(standIn.messages(ME).map((message) => message.text)).toEqual(["agent\nworth the wait"]);
    } finally {
      await second.stop();
      await standIn.stop();
    }
  }, 120_000);
});
