import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { sleep } from "../../concurrency/sleep.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { servedSessions } from "../../serve/serve-handler.ts";
import type { Command } from "../command/command.ts";
import { loadCommandConfig } from "../command/command-config.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { checkSandboxOffConsent } from "../command/sandbox-off-consent.ts";
import { servedParts } from "./served-parts.ts";
import { TelegramFileOutlet } from "../../telegram/file-outlet.ts";
import { requireBotToken, runTelegram } from "./telegram-bot.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";

const HELP = `Usage: org telegram [--config FILE] [--workspace DIR] [--unsafe-no-sandbox]

The room from a phone: a Telegram bot that long-polls the Bot API and serves the chats telegram.allowedChats lists.
Each allowed chat is a room session of its own (org chat --resume ID and the web room open it too): a message is
answered as a stream of edits, tools that ask first show Approve / Deny buttons, long output and diffs come as files.
Documents, photos and voice notes are saved into the session's scratch (/scratch/telegram/...) and named to the
room; an agent sends files back with send_file (asks first). Any other chat's updates are dropped unanswered (one
audit line, and one line here, per chat: its id is how you find your own). A message that holds a secret is refused
and not stored. Runs until Ctrl-C or SIGTERM.

Commands in the chat (registered with setMyCommands):
  /start    hello, and this chat's session id     /tools  the personas' tools and policies
  /status   instances, org grow, the supervisor   /undo   undo the newest workspace change
  /mode     show or set the mode (/mode group)     /wish   /wish a tool that converts currencies
  /stop     stop the running replies (and the messages waiting)
  /clear    forget the conversation so far        /models  each persona's model, the servers' models
  /use      /use agent qwen3:8b                    /budget  tokens used and left: session, today
  /memory   /memory staging database               /mcp     the MCP servers' state (trust: at the terminal)
  /facts    what the observer learned about you, waiting for you (/facts accept 1, /facts reject 2)

Options:
  --config FILE        room configuration (default: org.config.json in the workspace)
  --workspace DIR      where .org/ (sessions, audit, the bot's state) lives (default: current directory)
  --unsafe-no-sandbox  confirms ORG_SANDBOX=off (refused without it)

Settings (org.config.json):
  telegram.allowedChats  the chat ids served, e.g. [123456789] (a group's id starts with -)
  telegram.apiBase       the Bot API (default https://api.telegram.org; a local Bot API server also works)
  telegram.pollTimeoutS  seconds one getUpdates waits (default 25)
  telegram.maxFileBytes  bytes a document, photo or voice note may hold (default and at most 20 MB)
  telegram.transcribe    {"url": "http://127.0.0.1:8080"}: transcribes voice notes (/v1/audio/transcriptions)
  supervise.telegram     true: the supervisor's incidents and recoveries go to the allowed chats too

Environment:
  TELEGRAM_BOT_TOKEN   the bot's token from BotFather; read from the environment only, never printed or logged

The same bot runs inside a server with: org serve --telegram (or org web --telegram). See docs/telegram.md.`;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${sanitizeForTerminal(line)}\n`);
}

/** `org telegram`: the bot and the session pool it follows, without HTTP, until Ctrl-C or SIGTERM. */
export const telegramCommand: Command = {
  ...nameAndSummary("telegram"),
  help: HELP,
  async run(args, signal) {
    const { values } = parseCommandArgs("telegram", args, {
      config: { type: "string" },
      workspace: { type: "string" },
      "unsafe-no-sandbox": { type: "boolean" },
    });
    const unsafe = values["unsafe-no-sandbox"] ?? false;
    checkSandboxOffConsent("telegram", unsafe);
    const token = requireBotToken();
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const config = loadCommandConfig(values.config, workspaceDir);
    const access = sandboxAccessFrom({ config });
    const fileOutlet = new TelegramFileOutlet(config.telegram.maxFileBytes);
    const parts = await servedParts(workspaceDir, config, access, log, { fileOutlet });
    const pool = servedSessions({ ...parts.rooms, logError: log });
    parts.tools.follow((result) => {
      if (!result.restartNeeded) log(`reloaded tools at ${result.commit?.slice(0, 12)}: added ${result.added.join(", ") || "none"}`);
    });
    const stopping = new AbortController();
    const onStop = () => stopping.abort();
    signal.addEventListener("abort", onStop, { once: true });
    process.on("SIGINT", onStop);
    try {
      await runTelegram({
        fileOutlet,
        ...(parts.memory ? { memory: parts.memory } : {}),
        ...(parts.mcp ? { mcp: parts.mcp } : {}),
        workspaceDir,
        config,
        sessions: pool.sessions,
        audit: parts.rooms.audit,
        token,
        log,
        signal: AbortSignal.any([signal, stopping.signal]),
      });
      return 0;
    } finally {
      signal.removeEventListener("abort", onStop);
      process.off("SIGINT", onStop);
      log("telegram: stopping");
      parts.tools.stop();
      await Promise.race([pool.close(), sleep(2_000)]);
      await parts.mcp?.close();
      parts.memory?.close();
    }
  },
};
