import { unconfirmedNotice } from "./command-config.ts";
import { join, resolve } from "node:path";
import { environmentSettings } from "../config/environment.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { HISTORY_FILE } from "../config/workspace-paths.ts";
import type { Style } from "./ansi.ts";
import { type ConsoleRenderer, createConsoleRenderer } from "./console-renderer.ts";
import { type Room, RoomModeError } from "../room/room.ts";
import { formatRoomMode, parseRoomMode } from "../room/room-mode.ts";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import { type ChatOptions, parseChatArgs } from "./chat-args.ts";
import { runChatLoop } from "./chat-loop.ts";
import { type Command, UsageError } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { LineEditor } from "./line-editor/line-editor.ts";
import { shellWord } from "../security/shell-word.ts";
import { orgInvocation } from "./org-invocation.ts";
import { roomSlashHost, formatMessage } from "./room-slash-host.ts";
import { completeSlashCommand, roomOnly, type SlashCommand, slashHelp } from "./slash-commands.ts";
import { prepareWorkspace } from "./workspace-dir.ts";
import { sendHeld } from "./held-message.ts";
import { misspeltMentions } from "./misspelt-mentions.ts";
import { wrapText } from "./wrap-line.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { CREDENTIAL_PROMPT } from "./credential-question.ts";
import type { ApprovalQuestion } from "./approval-prompt.ts";
import {
  type ChatSetup,
  checkServers,
  memoryRecall,
  type OpenedChatRoom,
  openChatRoom,
  personaColors,
  shownPath,
  terminalColumns,
} from "./chat-room.ts";
import { CONFIG_CHECK_MS, watchConfigFile } from "./config-watch.ts";
import { LiveRoom } from "./live-room.ts";
import type { Sandbox } from "../sandbox/run-sandboxed.ts";
import { type OnceInput, onceInput, runOnce, sayMisspelt } from "./chat-once.ts";
import { ToolOutputs } from "./tool-outputs.ts";
import { confirmMcpServers } from "./confirm-mcp-servers.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import { configPaths, readConfig, reopenOnChange } from "./reopen-on-change.ts";

const HELP = `Usage: org chat [options]

The chat room in this terminal (the default command). Type a message for the personas, or a /command.

Options:
  --config FILE      room configuration (default: org.config.json in the workspace, else built-in defaults)
  --model M, -m M    every persona uses model M unless org.config.json names another (instead of OLLAMA_MODEL)
  --mode MODE        start in group, direct:<persona> or file:<path>
  --resume [ID]      go on with a saved session (the newest when no id is given)
  --once TEXT        send one message, print the replies, exit (1 if a reply failed, its tool loop was
                     stopped, or the last command it ran in the sandbox failed; 2 if, in group mode, an
                     @name is a misspelt persona: the message is not sent and the likely name is shown).
                     A /command is run on the session as in the room, never sent to the models (/wish,
                     /mode, /undo, /history, /output, …; exit 1 if it failed); one typed wrong, /quit,
                     and those that confirm or start a server or lower a guard (/mcp trust NAME, /undo
                     --force, /save FILE) are refused (exit 2), naming the way that remains (org mcp
                     trust NAME, org undo --force, the room); start with // to send a message that
                     begins with /
  --json             with --once: print every room event as one JSON line (a /command's lines as
                     {"type":"command","command","ok","lines"} after them)
  --yes, -y          approve "ask" tools (as the config says; promoted tools ask by default) without asking
  --workspace DIR    where .org/ (sessions, memory, history, audit, scratch) lives (default: current directory)

${wrapText(slashHelp(), 108)}

Examples:
  org chat
  org chat -m llama3.1:8b
  org chat --once "what is in this folder?" --mode direct:agent --json
  org chat --once "/wish a tool that converts currencies"
  org chat --resume --once "/output 2"
  OLLAMA_BASE=http://127.0.0.1:11434 OLLAMA_MODEL=qwen3:8b org chat --resume`;

/**
 * Reads the options and the config; with `--once`, a /command typed wrong and a misspelt @name are refused here, before
 * the workspace is touched.
 */
function prepare(args: string[]): (ChatSetup & { once?: OnceInput }) | { refused: number } {
  const options = parseChatArgs(args);
  const workspaceDir = resolve(options.workspace ?? process.cwd());
  const config = readConfig(options, workspaceDir);
  let once: OnceInput | undefined;
  if (options.once !== undefined) {
    const input = onceInput(options.once);
    if ("refused" in input) return { refused: refuseOnce(options, input.refused) };
    once = input;
    const refused = input.type === "message" ? refuseMisspeltOnce(options, config, input.text) : undefined;
    if (refused !== undefined) return { refused };
  }
  prepareWorkspace(workspaceDir);
  if (options.mode !== undefined) {
    try {
      parseRoomMode(
        options.mode,
        config.personas.map((persona) => persona.name),
        workspaceDir,
      );
    } catch (error) {
      if (error instanceof RoomModeError) throw new UsageError(`--mode: ${error.message}`, "chat");
      throw error;
    }
  }
  const color = Boolean(process.stdout.isTTY) && !environmentSettings().noColor;
  return { options, workspaceDir, config, color, ...(once ? { once } : {}) };
}

/** A `--once` text that cannot run: said on stderr (and as a JSON error line under `--json`); exit 2. */
function refuseOnce(options: ChatOptions, message: string): number {
  if (options.json) process.stdout.write(`${terminalSafeJson({ type: "error", kind: "usage", message })}\n`);
  process.stderr.write(`org: ${sanitizeForTerminal(message)}\n`);
  return 2;
}

/**
 * `--once` in group mode with a misspelt @name would send the message to everyone: refused with the likely name
 * (exit 2) before a session, a scratch folder or even `.org/` is made. A resumed session's mode is known only once
 * it is open; `runOnce` asks again then.
 */
function refuseMisspeltOnce(options: ChatOptions, config: OrgConfig, text: string): number | undefined {
  const group = options.mode === undefined ? options.resume === undefined : options.mode.trim() === "group";
  if (!group) return undefined;
  const misspelt = misspeltMentions(
    text,
    config.personas.map((persona) => persona.name),
  );
  if (!misspelt) return undefined;
  sayMisspelt({ options }, `${misspelt.problem}; the message was not sent. Send it again as: ${misspelt.corrected}`);
  return 2;
}

/** Org's own lines in the interactive room: sanitized, wrapped between words at the terminal's width as replies are. */
function terminalVoice(renderer: ConsoleRenderer): { wrap: (text: string) => string; say: (text: string, style?: Style) => void } {
  const { ansi } = renderer;
  const wrap = (text: string) => wrapText(sanitizeForTerminal(text), terminalColumns());
  return { wrap, say: (text, style) => renderer.print(ansi.join(ansi.text(wrap(text), style), ansi.text("\n"))) };
}

/** Warns about servers that do not answer and models they lack; the room opens anyway. */
async function warnAboutServers(config: OrgConfig, say: (text: string, style?: Style) => void, signal: AbortSignal): Promise<void> {
  const { dead, missing } = await checkServers(config, signal);
  if (dead) {
    say(`warning: ${dead}`, "yellow");
    say("(the room opens anyway; messages will fail until a server answers)\n");
  }
  for (const line of missing) say(`warning: ${line}`, "yellow");
}

/** A question asked at the line editor; until the answer, nothing else reaches the terminal. */
function editorAsk(renderer: ConsoleRenderer, editor: LineEditor): (question: ApprovalQuestion) => Promise<string | undefined> {
  // Until the answer, nothing else reaches the terminal: another reply cannot draw over the question.
  return askOnConsole(renderer, async (prompt, keys) => {
    const answer = await editor.readLine(prompt, { remember: false, keys });
    // Ctrl-C at the question stops the whole turn, as it does while a reply streams.
    if (answer.type === "interrupt") editor.interrupt();
    // Ctrl-D answers no; only Ctrl-C stops the turn.
    return answer.type === "line" ? answer.text : answer.type === "eof" ? "" : undefined;
  });
}

/** The approval question asked at the line editor. */
function editorApproval(options: ChatOptions, renderer: ConsoleRenderer, editor: LineEditor, say: (text: string, style?: Style) => void) {
  return createApprovalPrompt({
    assumeYes: options.yes,
    notify: (line) => say(`· ${line}`, "gray"),
    oneKey: editor.answersWithOneKey,
    ask: editorAsk(renderer, editor),
  });
}

/** The first lines: who is in the room and the session, how to talk, and after --resume the last messages. */
function greet(room: Room, renderer: ConsoleRenderer, voice: ReturnType<typeof terminalVoice>, resumed: boolean, outputs: ToolOutputs): void {
  const { ansi } = renderer;
  const personas = room.personas().map((persona) => `${persona.name} (${persona.model})`);
  const banner = voice.wrap(`org — ${personas.join(", ")}. Session ${room.sessionId}.`);
  renderer.print(ansi.join(ansi.text("org", "bold"), ansi.text(`${banner.slice(3)}\n`)));
  voice.say("Type a message; @name asks one persona. /help lists commands. Ctrl-C stops a reply, twice leaves.", "gray");
  if (resumed) {
    // A replayed transcript is outside text like a live reply: say() sanitizes it.
    const earlier = room.history();
    voice.say(`Resumed with ${earlier.length} earlier messages; the last ones:`, "gray");
    for (const message of earlier.slice(-4)) voice.say(formatMessage(message, outputs), "gray");
  }
}

/** How the room confirms MCP servers: a person at a terminal is asked; a pipe's lines, maybe someone else's words, are not. */
function mcpConfirmation(editor: LineEditor, renderer: ConsoleRenderer, say: (text: string, style?: Style) => void) {
  return async (hub: McpHub) => {
    if (editor.inTerminal) return confirmMcpServers(hub, editorAsk(renderer, editor), editor.answersWithOneKey);
    if (hub.awaitingTrust().length > 0)
      say(
        "org: the room's input is not a terminal, so no MCP server is confirmed here: run 'org mcp trust NAME' (it prints what it confirms)",
        "yellow",
      );
  };
}

async function runInteractive(setup: ChatSetup, signal: AbortSignal): Promise<number> {
  const { options, color } = setup;
  // The setup the room runs on now: a reload of the config file replaces its config and options.
  const running: ChatSetup = { ...setup };
  const editor = new LineEditor({
    historyFile: join(setup.workspaceDir, HISTORY_FILE),
    complete: completeSlashCommand,
    // A pasted key stays out of .org/history as it does out of the transcript.
    historyEntry: (line) => scanForSecrets(line, running.config.secrets).redacted,
  });
  const outputs = new ToolOutputs();
  // Every byte for the terminal goes through the renderer: outside text sanitized, colours added after. What comes
  // while the prompt is open (a server's notice, a promotion) is written above it, and the prompt drawn again.
  const renderer = createConsoleRenderer({
    write: (text) => editor.writeAbove(text),
    color,
    personaColors: personaColors(setup.config),
    columns: terminalColumns,
    toolOutputs: outputs,
  });
  const { ansi } = renderer;
  const voice = terminalVoice(renderer);
  const { say } = voice;
  await warnAboutServers(setup.config, say, signal);
  const notify = (line: string) => say(`org: ${line}`, "yellow");
  const approve = editorApproval(options, renderer, editor, say);
  const open = (at: ChatSetup, sandbox?: Sandbox) => openChatRoom(at, approve, (event) => renderer.handle(event), undefined, notify, sandbox);
  const confirm = mcpConfirmation(editor, renderer, say);
  const live = new LiveRoom(await open(setup), (current) => reopenOnChange(current, running, { open, say, confirm }));
  const { room, mcp } = live.opened;
  // A resumed session's results keep their numbers: /output N finds them, and new ones follow.
  outputs.addMessages(room.history());
  const onAbort = () => void editor.close();
  signal.addEventListener("abort", onAbort, { once: true });
  // The config file is read again when it changes, through the same function as at the start (readConfig).
  const stopWatchingConfig = watchConfigFile(configPaths(setup), CONFIG_CHECK_MS, () => live.changed());
  try {
    await editor.start();
    greet(room, renderer, voice, options.resume !== undefined, outputs);
    const waiting = unconfirmedNotice(running.config, setup.workspaceDir);
    if (waiting !== undefined) say(`org: ${waiting}`, "yellow");
    if (mcp) await confirm(mcp);
    const questions = {
      ask: (prompt: string, keys?: readonly string[]) => editor.readLine(prompt, { remember: false, ...(keys ? { keys } : {}) }),
      oneKey: editor.answersWithOneKey,
      say,
      credentialPrompt: ansi.text(CREDENTIAL_PROMPT, "yellow"),
    };
    const host = (opened: OpenedChatRoom) =>
      roomSlashHost(opened.room, running.config, setup.workspaceDir, memoryRecall(opened.memory), opened.mcp, outputs);
    await runChatLoop(
      editor,
      {
        get host() {
          return host(live.opened);
        },
        send: (text, sendSignal) => sendHeld(live.opened.room, running.config.secrets, questions, () => renderer.idle())(text, sendSignal),
        write: (text) => renderer.print(ansi.text(voice.wrap(text))),
        clearScreen: () => renderer.print(ansi.clearScreen),
        ...(editor.inTerminal ? {} : { refuse: (command: SlashCommand) => roomOnly(command, "a room whose input is not a terminal") }),
        exclusive: (work) => live.turn(work),
      },
      { prompt: () => ansi.text(`${formatRoomMode(live.opened.room.mode)} › `, "bold"), signal },
    );
  } finally {
    stopWatchingConfig();
    signal.removeEventListener("abort", onAbort);
    await editor.close();
    await live.settled();
    await live.opened.close();
  }
  const last = live.opened.room;
  const elsewhere = resolve(setup.workspaceDir) === resolve(process.cwd()) ? "" : ` --workspace ${shellWord(setup.workspaceDir)}`;
  say(`transcript: ${shownPath(last.transcriptPath)}\nresume with: ${orgInvocation()} chat${elsewhere} --resume ${last.sessionId}`);
  return 0;
}

/** `org chat`: the room in this terminal, or one turn with `--once`. */
export const chatCommand: Command = {
  ...nameAndSummary("chat"),
  help: HELP,
  async run(args, signal) {
    const setup = prepare(args);
    if ("refused" in setup) return setup.refused;
    if (setup.once !== undefined) return runOnce(setup, setup.once, signal);
    return runInteractive(setup, signal);
  },
};
