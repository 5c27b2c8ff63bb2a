import { unconfirmedNotice } from "../command/command-config.ts";
import { join, resolve } from "node:path";
import type { OrgConfig } from "../../config/org-config.ts";
import { HISTORY_FILE } from "../../config/workspace-paths.ts";
import type { Style } from "../terminal/ansi.ts";
import { type ConsoleRenderer, createConsoleRenderer } from "./console-renderer.ts";
import type { Room } from "../../room/room.ts";
import { formatRoomMode } from "../../room/room-mode.ts";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import type { ChatOptions } from "./chat-args.ts";
import { runChatLoop } from "./chat-loop.ts";
import { LineEditor } from "./line-editor/line-editor.ts";
import { shellWord } from "../../security/shell-word.ts";
import { orgInvocation } from "../command/org-invocation.ts";
import { roomSlashHost, formatMessage } from "./room-slash-host.ts";
import { completeCommand } from "../../room/interpret-command.ts";
import { sendHeld } from "./held-message.ts";
import { wrapText } from "../terminal/wrap-line.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { scanForSecrets } from "../../security/scan-for-secrets.ts";
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
import type { Sandbox } from "../../sandbox/run-sandboxed.ts";
import { ToolOutputs } from "../../room/tool-outputs.ts";
import { confirmMcpServers } from "./confirm-mcp-servers.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { configPaths, reopenOnChange } from "./reopen-on-change.ts";

// The interactive room of `org chat`, loaded only when no --once is given: a --once run needs none of it.

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
  return askOnConsole(renderer, async (prompt, keys, signal) => {
    // A question settled elsewhere (the web room, a call that stopped waiting) leaves the line free for the next read.
    const answer = await editor.readLine(prompt, { remember: false, keys, ...(signal ? { signal } : {}) });
    // Ctrl-C at the question stops the whole turn, as it does while a reply streams.
    if (answer.type === "interrupt") editor.interrupt();
    // Ctrl-D answers no; only Ctrl-C stops the turn.
    return answer.type === "line" ? answer.text : answer.type === "interrupt" ? undefined : "";
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

/** `org chat` at a terminal or a pipe: the room, until /quit, Ctrl-D or a signal. */
export async function runInteractive(setup: ChatSetup, signal: AbortSignal): Promise<number> {
  const { options, color } = setup;
  // The setup the room runs on now: a reload of the config file replaces its config and options.
  const running: ChatSetup = { ...setup };
  const editor = new LineEditor({
    historyFile: join(setup.workspaceDir, HISTORY_FILE),
    complete: (before) => completeCommand(before, "terminal"),
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
  // "always" holds for the session: the room opened again on a changed config keeps what was answered so.
  const alwaysAllowed = new Set<string>();
  const open = (at: ChatSetup, sandbox?: Sandbox) => openChatRoom(at, approve, (event) => renderer.handle(event), { notify, sandbox, alwaysAllowed });
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
        frontEnd: editor.inTerminal ? "terminal" : "piped",
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
