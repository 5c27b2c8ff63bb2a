import { afterAll, expect, test } from "bun:test";
import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { TelegramStandIn } from "../testing/telegram-bot-api.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { uniqueSessionName } from "../testing/tmux.ts";

// supervise.telegram: the supervisor's incidents reach the allowed chats through the bot, beside (or without) the
// webhook; org supervise as a person types it, the Bot API a stand-in on 127.0.0.1.
const repo = tempGitRepo("org-supervise-telegram-");
afterAll(() => repo[Symbol.dispose]());
const TOKEN = "6012345678:AAE-supervisor-test-token-Qw3Er5Ty7";
const CHAT = 4242001;

test("an incident is pushed to each allowed chat once, as plain text without the token; a second round says it again to nobody", async () => {
  const standIn = TelegramStandIn.start(TOKEN);
  try {
    standIn.openChat(CHAT);
    writeConfirmedConfig(repo.dir, {
      supervise: { telegram: true, quietMinutes: 0 },
      telegram: { apiBase: standIn.url, allowedChats: [CHAT, 4242002] },
    });
    const env = {
      // Nothing answers here: the model-server check opens an incident.
      OLLAMA_BASE: "http://127.0.0.1:9",
      ORG_TMUX_SESSION: uniqueSessionName("org-sv-tg"),
      ORG_EMBED_MODEL: "off",
      TELEGRAM_BOT_TOKEN: TOKEN,
    };
    const once = () =>
      runOrgProcess(["supervise", "--once", "--workspace", repo.dir, "--repo", repo.dir], { cwd: repo.dir, env, timeoutMs: 120_000 });
    const first = await once();
    expect(first.exitCode).toBe(0);
    const pushed = standIn.messages(CHAT);
    expect(pushed.length).toBeGreaterThan(0);
    const opened = pushed.find((message) => /model server/i.test(message.text));
    expect(opened?.text).toStartWith("[org supervise]");
    const sends = standIn.calls.filter((call) => call.method === "sendMessage");
    // Plain text: nothing a check found is read as markup.
    for (const call of sends) expect(call.params.parse_mode).toBeUndefined();
    // The chat the bot never saw answered 400; the chat it knows got each message once, however the other one went.
    expect(sends.some((call) => String(call.params.chat_id) === "4242002" && call.status === 400)).toBe(true);
    const second = await once();
    expect(second.exitCode).toBe(0);
    expect(standIn.messages(CHAT).filter((message) => message.text === opened?.text)).toHaveLength(1);
    for (const output of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(output).not.toContain(TOKEN);
  } finally {
    await standIn.stop();
  }
}, 240_000);
