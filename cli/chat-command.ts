import { loadCommandConfig } from "./command-config.ts";
import { join, relative, resolve } from "node:path";
import { environmentSettings } from "../config/environment.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { AUDIT_DIR, HISTORY_FILE } from "../config/workspace-paths.ts";
import type { Style } from "./ansi.ts";
import { type ConsoleRenderer, createConsoleRenderer } from "./console-renderer.ts";
import type { IncompleteReply, RoomEvent } from "../room/room-event.ts";
import { openRoom, type Room, RoomModeError } from "../room/room.ts";
import { formatRoomMode, parseRoomMode } from "../room/room-mode.ts";
import { AuditLog } from "../security/audit-log.ts";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import { type ChatOptions, parseChatArgs } from "./chat-args.ts";
import { runChatLoop } from "./chat-loop.ts";
import { type Command, UsageError } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { LineEditor } from "./line-editor/line-editor.ts";
import { deadServerMessage } from "./model-server-probe.ts";
import { missingModelMessages, probeServers } from "../models/server-probe.ts";
import { shellWord } from "../security/shell-word.ts";
import { orgInvocation, REPO_DIR } from "./org-invocation.ts";
import { roomSlashHost, formatMessage } from "./room-slash-host.ts";
import { completeSlashCommand, slashHelp } from "./slash-commands.ts";
import { prepareWorkspace } from "./workspace-dir.ts";
import { groupMisspelling, sendHeld } from "./held-message.ts";
import { misspeltMentions } from "./misspelt-mentions.ts";
import { wrapText } from "./wrap-line.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { assembleRoom } from "../assembly/assemble-room.ts";
import { embedderFromEnvironment } from "../registry/ollama-embedder.ts";
import type { ApprovalAnswer } from "../room/tool-approval.ts";
import { openMemoryForRoom } from "../memory/open-memory.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import { formatMemoryOutcome } from "./format-memory-outcome.ts";
import { scanForSecrets } from "../security/redact.ts";
import { CREDENTIAL_PROMPT } from "./credential-question.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import { describeLaunch } from "../mcp-client/mcp-trust.ts";
import type { ApprovalQuestion } from "./approval-prompt.ts";

const HELP = `Usage: org chat [options]

The chat room in this terminal (the default command). Type a message for the personas, or a /command.

Options:
  --config FILE      room configuration (default: org.config.json in the workspace, else built-in defaults)
  --model M, -m M    every persona uses model M unless org.config.json names another (instead of OLLAMA_MODEL)
  --mode MODE        start in group, direct:<persona> or file:<path>
  --resume [ID]      go on with a saved session (the newest when no id is given)
  --once TEXT        send one message, print the replies, exit (1 if a reply failed, its tool loop was
                     stopped, or the last command it ran in the sandbox failed; 2 if, in group mode, an
                     @name is a misspelt persona: the message is not sent and the likely name is shown)
  --json             with --once: print every room event as one JSON line
  --yes, -y          approve "ask" tools (as the config says; promoted tools ask by default) without asking
  --workspace DIR    where .org/ (sessions, memory, history, audit, scratch) lives (default: current directory)

${wrapText(slashHelp(), 108)}

Examples:
  org chat
  org chat -m llama3.1:8b
  org chat --once "what is in this folder?" --mode direct:agent --json
  OLLAMA_BASE=http://127.0.0.1:11434 OLLAMA_MODEL=qwen3:8b org chat --resume`;

/** Why `--once` exits 1 though no reply failed outright. */
const INCOMPLETE: Record<IncompleteReply["reason"], string> = {
  "max-rounds": "its tool loop hit limits.toolRoundsPerTurn before a final answer (exit 1).",
  "repeated-call": "its tool loop was stopped for repeating the same call (exit 1).",
  "reply-chars": "it was cut at limits.replyChars characters (exit 1).",
  "tool-failed": "the last command it ran in the sandbox failed (exit 1).",
};

/** Everything a chat run sets up before the first message. */
export type ChatSetup = { options: ChatOptions; workspaceDir: string; config: OrgConfig; color: boolean };

/** Reads the options and the config; with `--once`, a misspelt @name is refused here, before the workspace is touched. */
function prepare(args: string[]): ChatSetup | { refused: number } {
  const options = parseChatArgs(args);
  const workspaceDir = resolve(options.workspace ?? process.cwd());
  const config = readConfig(options, workspaceDir);
  if (options.once !== undefined) {
    const refused = refuseMisspeltOnce(options, config, options.once);
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
  return { options, workspaceDir, config, color };
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
  sayMisspelt(options, `${misspelt.problem}; the message was not sent. Send it again as: ${misspelt.corrected}`);
  return 2;
}

function sayMisspelt(options: ChatOptions, message: string): void {
  if (options.json) process.stdout.write(`${terminalSafeJson({ type: "error", kind: "unknown-persona", message })}\n`);
  process.stderr.write(`org: ${sanitizeForTerminal(message)}\n`);
}

/** The room's config: the file (or the defaults), with --model standing where OLLAMA_MODEL would. Makes nothing. */
function readConfig(options: ChatOptions, workspaceDir: string): OrgConfig {
  const env = options.model !== undefined ? { ...process.env, OLLAMA_MODEL: options.model.trim() } : process.env;
  const loaded = loadCommandConfig(options.config, workspaceDir, env);
  // --model stands where OLLAMA_MODEL would: personas whose model the config names keep it.
  return options.model === undefined
    ? loaded
    : {
        ...loaded,
        personas: loaded.personas.map((persona) => (persona.modelSource?.startsWith("OLLAMA_MODEL") ? { ...persona, modelSource: "--model" } : persona)),
      };
}

/** The first server nobody answers at, with the reason (undefined when all answer), and each persona whose model its server lacks. */
async function checkServers(config: OrgConfig, signal: AbortSignal): Promise<{ dead: string | undefined; missing: string[] }> {
  const results = await probeServers(config, signal);
  const dead = results.find((result) => !result.reachable);
  return { dead: dead && !dead.reachable ? deadServerMessage(dead.server, dead.error) : undefined, missing: missingModelMessages(config.personas, results) };
}

/** Chat's room, from the room assembly; `checkoutDir` (org's checkout) is where promoted tools and the toolsmith's branches are. */
export async function openChatRoom(
  setup: ChatSetup,
  approve: (persona: string, call: { name: string; arguments: unknown }) => Promise<ApprovalAnswer>,
  onEvent: (event: RoomEvent) => void,
  checkoutDir: string = REPO_DIR,
): Promise<{ room: Room; memory: MemoryStore | undefined; stopWatching: () => void; mcp: McpHub | undefined }> {
  const notify = (line: string) => process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
  const memory = openMemoryForRoom(setup.workspaceDir, notify, setup.config.secrets);
  if (memory) process.once("exit", () => memory.close());
  // The same assembly as serve and demo: built-ins, memory, promoted tools of the workspace and the checkout.
  const embedder = embedderFromEnvironment();
  const assembly = await assembleRoom({
    config: setup.config,
    workspaceDir: setup.workspaceDir,
    checkoutDir,
    toolsmith: { invocation: orgInvocation() },
    notify,
    ...(memory ? { memory } : {}),
    ...(embedder ? { embedder } : {}),
  });
  process.once("exit", () => assembly.close());
  const room = await openRoom(
    assembly.options({
      audit: new AuditLog(join(setup.workspaceDir, AUDIT_DIR)),
      approve,
      ...(setup.options.resume !== undefined ? { resume: setup.options.resume } : {}),
      onEvent,
    }),
  );
  if (setup.options.mode !== undefined) {
    try {
      room.setMode(setup.options.mode);
    } catch (error) {
      await room.close();
      if (error instanceof RoomModeError) throw new UsageError(`--mode: ${error.message}`, "chat");
      throw error;
    }
  }
  const stopWatching = await watchPromotions(room, checkoutDir, setup.workspaceDir, assembly.builtIns, notify);
  process.once("exit", stopWatching);
  return { room, memory, stopWatching, mcp: assembly.mcp };
}

/** How often an open room looks at the checkout's HEAD for a promotion or rollback (as serve does). */
const PROMOTION_CHECK_MS = 2_000;

/**
 * Follows the checkout's HEAD while the room is open, as serve does: after a promotion or rollback the room
 * offers the promoted tools as they are now (a notice in the room names each change). Returns how to stop.
 */
async function watchPromotions(
  room: Room,
  checkoutDir: string,
  workspaceDir: string,
  builtIns: readonly AnyTool[],
  notify: (line: string) => void,
): Promise<() => void> {
  const { ServedTools } = await import("../serve/served-tools.ts");
  const promoted = await ServedTools.open(checkoutDir, builtIns, workspaceDir);
  // A promotion between the room's assembly and now is taken at once.
  room.offerPromotedTools(promoted.generated());
  promoted.watch(PROMOTION_CHECK_MS, (result) => {
    if (result.restartNeeded)
      notify(`the checkout moved to code this chat does not run: ${result.restartNeeded.replace(/ \(ops\/start-current\.sh restarts it\)/, "")}`);
    else room.offerPromotedTools(promoted.generated());
  });
  return () => promoted.stop();
}

function personaColors(config: OrgConfig): Record<string, string> {
  const colors: Record<string, string> = {};
  for (const persona of config.personas) if (persona.color) colors[persona.name] = persona.color;
  return colors;
}

/** `--once TEXT`: one turn, printed by the console renderer or as JSON lines; exit 1 when a reply failed. */
async function runOnce(setup: ChatSetup, text: string, signal: AbortSignal): Promise<number> {
  const { options } = setup;
  // A reader that goes away (`| head`) stops the turn quietly instead of crashing on EPIPE.
  const stop = new AbortController();
  let readerGone = false;
  const onStdoutError = () => {
    readerGone = true;
    stop.abort(new Error("standard output was closed"));
  };
  process.stdout.on("error", onStdoutError);
  const print = (chunk: string) => {
    if (readerGone) return;
    try {
      process.stdout.write(chunk);
    } catch {
      onStdoutError();
    }
  };
  const printLine = (line: string) => print(`${line}\n`);
  // What org says on stderr quotes models and servers too: it passes the terminal sanitizer.
  const warn = (line: string) => process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
  const { dead, missing } = await checkServers(setup.config, signal);
  if (dead) {
    if (options.json) printLine(terminalSafeJson({ type: "error", kind: "unreachable", message: dead }));
    warn(dead);
    return 1;
  }
  for (const line of missing) warn(line);
  const renderer = createConsoleRenderer({
    write: print,
    color: setup.color,
    personaColors: personaColors(setup.config),
    columns: terminalColumns,
  });
  const approve = createApprovalPrompt({ assumeYes: options.yes, notify: warn });
  const { room, mcp } = await openChatRoom(setup, approve, (event) => {
    // Exact text, but DEL, C1 and bidi controls as \uXXXX too, in case the lines go to a terminal.
    if (options.json) printLine(terminalSafeJson(event));
    else renderer.handle(event);
  });
  // One turn: its MCP servers get their first start (at most mcp.startTimeoutS) so their tools are there for it.
  await mcp?.ready(signal);
  // A misspelt @name in group mode would send the message to everyone: refused, with the likely name.
  const misspelt = groupMisspelling(room, text);
  if (misspelt) {
    await room.close();
    sayMisspelt(options, `${misspelt.problem}; the message was not sent. Send it again as: ${misspelt.corrected}`);
    return 2;
  }
  // Without a line editor the terminal is in cooked mode: Ctrl-C arrives as SIGINT and stops the turn.
  const onInterrupt = () => stop.abort(new Error("stopped with Ctrl-C"));
  process.on("SIGINT", onInterrupt);
  try {
    const summary = await room.send(text, { signal: AbortSignal.any([signal, stop.signal]) });
    await renderer.idle();
    // The stopped replies end quietly (one report, not one per persona): this is it.
    if (stop.signal.aborted && !readerGone) warn("stopped with Ctrl-C");
    if (!options.json) process.stderr.write(`transcript: ${sanitizeForTerminal(shownPath(room.transcriptPath))}\n`);
    for (const reply of summary.incomplete) {
      process.stderr.write(`org: ${sanitizeForTerminal(reply.persona)}'s reply is incomplete: ${INCOMPLETE[reply.reason]}\n`);
    }
    return summary.ok && summary.incomplete.length === 0 && !stop.signal.aborted ? 0 : 1;
  } finally {
    process.off("SIGINT", onInterrupt);
    await room.close();
    await mcp?.close();
    if (!readerGone) process.stdout.off("error", onStdoutError);
  }
}

/** The terminal's width when stdout is one; a pipe gets lines unwrapped. */
function terminalColumns(): number | undefined {
  return process.stdout.isTTY ? process.stdout.columns : undefined;
}

function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith("..") ? path : shown;
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

/**
 * Asks, for each MCP server that is new or changed since the user last confirmed it, whether to start it (showing
 * exactly what would run and where); yes remembers it and starts it, no leaves it off for this session.
 */
export async function confirmMcpServers(hub: McpHub, ask: (question: ApprovalQuestion) => Promise<string | undefined>, oneKey: boolean): Promise<void> {
  for (const server of hub.awaitingTrust()) {
    const yes = (reply: string | undefined) => ["y", "yes"].includes((reply ?? "").trim().toLowerCase());
    const reply = await ask({
      persona: "mcp",
      call: { name: `mcp:${server.name}`, arguments: {} },
      text: `MCP server ${server.name} is new or changed since you last confirmed it. It would ${server.transport === "http" ? "connect to" : "run"}: ${describeLaunch(server)}`,
      prompt: `start it, and remember this? [y]es / [n]o${oneKey ? "" : " (then Enter)"}: `,
      keys: ["yes", "no"],
      verdict: (answer) => (yes(answer) ? `confirmed ${server.name}: starting it` : `${server.name} stays off (/mcp trust ${server.name} starts it later)`),
    });
    if (reply === undefined) return;
    if (yes(reply)) hub.trust(server.name);
  }
}

/** The `recall` of /recall: the workspace's memory searched (with embeddings when configured); undefined without memory. */
function memoryRecall(memory: MemoryStore | undefined): ((query: string, signal: AbortSignal) => Promise<string>) | undefined {
  if (!memory) return undefined;
  const embedder = embedderFromEnvironment();
  return async (query, signal) => formatMemoryOutcome(await memory.search(query, { limit: 8, signal, ...(embedder ? { embedder } : {}) }));
}

/** The first lines: who is in the room and the session, how to talk, and after --resume the last messages. */
function greet(room: Room, renderer: ConsoleRenderer, voice: ReturnType<typeof terminalVoice>, resumed: boolean): void {
  const { ansi } = renderer;
  const personas = room.personas().map((persona) => `${persona.name} (${persona.model})`);
  const banner = voice.wrap(`org — ${personas.join(", ")}. Session ${room.sessionId}.`);
  renderer.print(ansi.join(ansi.text("org", "bold"), ansi.text(`${banner.slice(3)}\n`)));
  voice.say("Type a message; @name asks one persona. /help lists commands. Ctrl-C stops a reply, twice leaves.", "gray");
  if (resumed) {
    // A replayed transcript is outside text like a live reply: say() sanitizes it.
    const earlier = room.history();
    voice.say(`Resumed with ${earlier.length} earlier messages; the last ones:`, "gray");
    for (const message of earlier.slice(-4)) voice.say(formatMessage(message), "gray");
  }
}

async function runInteractive(setup: ChatSetup, signal: AbortSignal): Promise<number> {
  const { options, config, color } = setup;
  // Every byte for the terminal goes through the renderer: outside text sanitized, colours added after.
  const renderer = createConsoleRenderer({
    write: (text) => process.stdout.write(text),
    color,
    personaColors: personaColors(config),
    columns: terminalColumns,
  });
  const { ansi } = renderer;
  const voice = terminalVoice(renderer);
  const { say } = voice;
  await warnAboutServers(config, say, signal);

  const editor = new LineEditor({
    historyFile: join(setup.workspaceDir, HISTORY_FILE),
    complete: completeSlashCommand,
    // A pasted key stays out of .org/history as it does out of the transcript.
    historyEntry: (line) => scanForSecrets(line, config.secrets).redacted,
  });
  const { room, memory, mcp } = await openChatRoom(setup, editorApproval(options, renderer, editor, say), (event) => renderer.handle(event));
  const onAbort = () => void editor.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await editor.start();
    greet(room, renderer, voice, options.resume !== undefined);
    if (mcp) await confirmMcpServers(mcp, editorAsk(renderer, editor), editor.answersWithOneKey);
    const questions = {
      ask: (prompt: string, keys?: readonly string[]) => editor.readLine(prompt, { remember: false, ...(keys ? { keys } : {}) }),
      oneKey: editor.answersWithOneKey,
      say,
      credentialPrompt: ansi.text(CREDENTIAL_PROMPT, "yellow"),
    };
    await runChatLoop(
      editor,
      {
        host: roomSlashHost(room, config, setup.workspaceDir, memoryRecall(memory), mcp),
        send: sendHeld(room, config.secrets, questions, () => renderer.idle()),
        write: (text) => renderer.print(ansi.text(voice.wrap(text))),
        clearScreen: () => renderer.print(ansi.clearScreen),
      },
      { prompt: () => ansi.text(`${formatRoomMode(room.mode)} › `, "bold"), signal },
    );
  } finally {
    signal.removeEventListener("abort", onAbort);
    await editor.close();
    await room.close();
    await mcp?.close();
  }
  const elsewhere = resolve(setup.workspaceDir) === resolve(process.cwd()) ? "" : ` --workspace ${shellWord(setup.workspaceDir)}`;
  say(`transcript: ${shownPath(room.transcriptPath)}\nresume with: ${orgInvocation()} chat${elsewhere} --resume ${room.sessionId}`);
  return 0;
}

/** `org chat`: the room in this terminal, or one turn with `--once`. */
export const chatCommand: Command = {
  ...nameAndSummary("chat"),
  help: HELP,
  async run(args, signal) {
    const setup = prepare(args);
    if ("refused" in setup) return setup.refused;
    if (setup.options.once !== undefined) return runOnce(setup, setup.options.once, signal);
    return runInteractive(setup, signal);
  },
};
