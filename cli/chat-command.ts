import { existsSync, mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { environmentSettings } from "../config/environment.ts";
import { CONFIG_FILE_NAME, loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { AUDIT_DIR, HISTORY_FILE } from "../config/workspace-paths.ts";
import type { Style } from "./ansi.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import type { IncompleteReply, RoomEvent } from "../room/room-event.ts";
import { openRoom, type Room, RoomModeError } from "../room/room.ts";
import { formatRoomMode, parseRoomMode } from "../room/room-mode.ts";
import { AuditLog } from "../security/audit-log.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import { type ChatOptions, parseChatArgs } from "./chat-args.ts";
import { runChatLoop } from "./chat-loop.ts";
import { type Command, UsageError, UserFacingError } from "./command.ts";
import { LineEditor } from "./line-editor.ts";
import { deadServerMessage, probeModelServer } from "./model-server-probe.ts";
import { shellWord } from "../security/shell-word.ts";
import { orgInvocation, REPO_DIR } from "./org-invocation.ts";
import { roomSlashHost, formatMessage } from "./room-slash-host.ts";
import { completeSlashCommand, slashHelp } from "./slash-commands.ts";
import { prepareWorkspace } from "./workspace-dir.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { offerToAgents, promotedToolAsTool, promotedToolsIn } from "../toolsmith/promoted-tools.ts";
import { toolsmithJob } from "../toolsmith/toolsmith-job.ts";
import { workflowRun } from "../workflows/workflow-run-tool.ts";
import { embedderFromEnvironment } from "../registry/ollama-embedder.ts";
import { openTurnToolChoice } from "../registry/turn-tool-choice.ts";

const HELP = `Usage: org chat [options]

The chat room in this terminal (the default command). Type a message for the personas, or a /command.

Options:
  --config FILE      room configuration (default: org.config.json in the workspace, else built-in defaults)
  --mode MODE        start in group, direct:<persona> or file:<path>
  --resume [ID]      go on with a saved session (the newest when no id is given)
  --once TEXT        send one message, print the replies, exit (1 if a reply failed, its tool loop was
                     stopped, or the last command it ran in the sandbox failed)
  --json             with --once: print every room event as one JSON line
  --yes, -y          approve tools that the config marks "ask" without asking
  --workspace DIR    where .org/ (sessions, history, audit, scratch) lives (default: current directory)

${slashHelp()}

Examples:
  org chat
  org chat --once "what is in this folder?" --mode direct:agent --json
  OLLAMA_BASE=http://127.0.0.1:11434 OLLAMA_MODEL=qwen3:8b org chat --resume`;

/** Why `--once` exits 1 though no reply failed outright. */
const INCOMPLETE: Record<IncompleteReply["reason"], string> = {
  "max-rounds": "its tool loop hit limits.toolRoundsPerTurn before a final answer (exit 1).",
  "repeated-call": "its tool loop was stopped for repeating the same call (exit 1).",
  "tool-failed": "the last command it ran in the sandbox failed (exit 1).",
};

/** Everything a chat run sets up before the first message. */
type ChatSetup = { options: ChatOptions; workspaceDir: string; config: OrgConfig; color: boolean };

function prepare(args: string[]): ChatSetup {
  const options = parseChatArgs(args);
  const workspaceDir = prepareWorkspace(options.workspace ?? process.cwd());
  if (options.config !== undefined && !existsSync(options.config)) {
    throw new UserFacingError(`no config file at ${options.config}. Check the path, or leave out --config to use the defaults.`);
  }
  const config = loadOrgConfig(options.config ?? join(workspaceDir, CONFIG_FILE_NAME), undefined, { workspaceDir });
  if (options.mode !== undefined) {
    try {
      parseRoomMode(options.mode, config.personas.map((persona) => persona.name), workspaceDir);
    } catch (error) {
      if (error instanceof RoomModeError) throw new UsageError(`--mode: ${error.message}`, "chat");
      throw error;
    }
  }
  const color = Boolean(process.stdout.isTTY) && !environmentSettings().noColor;
  return { options, workspaceDir, config, color };
}

/** The first server nobody answers at, with the reason; undefined when all answer. */
async function firstDeadServer(config: OrgConfig, signal: AbortSignal): Promise<string | undefined> {
  const baseUrls = [...new Set(config.personas.map((persona) => persona.baseUrl))];
  const results = await Promise.all(baseUrls.map((baseUrl) => probeModelServer(baseUrl, signal)));
  const dead = results.find((result) => !result.reachable);
  return dead && !dead.reachable ? deadServerMessage(dead.baseUrl, dead.error) : undefined;
}

async function openChatRoom(
  setup: ChatSetup,
  approve: (persona: string, call: { name: string; arguments: unknown }) => Promise<boolean>,
  onEvent: (event: RoomEvent) => void,
): Promise<Room> {
  // Promoted generated tools of the checkout org runs from: offered to agent personas (policy "ask" unless the
  // config says otherwise); the toolsmith's candidates land on branches of that checkout.
  const promoted = promotedToolsIn(REPO_DIR, (name, problem) =>
    process.stderr.write(`org: skipping generated tool ${sanitizeForTerminal(name)}: ${sanitizeForTerminal(problem)}\n`),
  );
  // Many promoted tools: each persona is offered the best few for the message it answers, and find_tool.
  const embedder = embedderFromEnvironment();
  const choice = await openTurnToolChoice({
    repoDir: REPO_DIR,
    generated: promoted.map((tool) => tool.name),
    perTurn: setup.config.limits.generatedToolsPerTurn,
    ...(embedder ? { embedder } : {}),
  });
  for (const notice of choice?.notices ?? []) process.stderr.write(`org: registry: ${sanitizeForTerminal(notice)}\n`);
  if (choice) process.once("exit", () => choice.close());
  const room = await openRoom({
    config: { ...setup.config, personas: offerToAgents(setup.config.personas, promoted.map((tool) => tool.name)) },
    ...(choice ? { toolChoice: choice.choice } : {}),
    workspaceDir: setup.workspaceDir,
    tools: [sh, pythonRun, workflowRun, ...promoted.map(promotedToolAsTool)],
    toolsmithJob: toolsmithJob({ repoDir: REPO_DIR, settings: setup.config.toolsmith, invocation: orgInvocation() }),
    audit: new AuditLog(join(setup.workspaceDir, AUDIT_DIR)),
    approve,
    ...(setup.options.resume !== undefined ? { resume: setup.options.resume } : {}),
    onEvent,
  });
  if (setup.options.mode !== undefined) {
    try {
      room.setMode(setup.options.mode);
    } catch (error) {
      await room.close();
      if (error instanceof RoomModeError) throw new UsageError(`--mode: ${error.message}`, "chat");
      throw error;
    }
  }
  return room;
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
  const dead = await firstDeadServer(setup.config, signal);
  if (dead) {
    if (options.json) printLine(terminalSafeJson({ type: "error", kind: "unreachable", message: dead }));
    warn(dead);
    return 1;
  }
  const renderer = createConsoleRenderer({
    write: print,
    color: setup.color,
    personaColors: personaColors(setup.config),
    columns: terminalColumns,
  });
  const approve = createApprovalPrompt({ assumeYes: options.yes, notify: warn });
  const room = await openChatRoom(setup, approve, (event) => {
    // Exact text, but DEL, C1 and bidi controls as \uXXXX too, in case the lines go to a terminal.
    if (options.json) printLine(terminalSafeJson(event));
    else renderer.handle(event);
  });
  // Without a line editor the terminal is in cooked mode: Ctrl-C arrives as SIGINT and stops the turn.
  const onInterrupt = () => stop.abort(new Error("stopped with Ctrl-C"));
  process.on("SIGINT", onInterrupt);
  try {
    const summary = await room.send(text, { signal: AbortSignal.any([signal, stop.signal]) });
    await renderer.idle();
    if (!options.json) process.stderr.write(`transcript: ${sanitizeForTerminal(shownPath(room.transcriptPath))}\n`);
    for (const reply of summary.incomplete) {
      process.stderr.write(`org: ${sanitizeForTerminal(reply.persona)}'s reply is incomplete: ${INCOMPLETE[reply.reason]}\n`);
    }
    return summary.ok && summary.incomplete.length === 0 && !stop.signal.aborted ? 0 : 1;
  } finally {
    process.off("SIGINT", onInterrupt);
    await room.close();
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
  const say = (text: string, style?: Style) => renderer.print(ansi.join(ansi.text(text, style), ansi.text("\n")));
  const dead = await firstDeadServer(config, signal);
  if (dead) {
    say(`warning: ${dead}`, "yellow");
    say("(the room opens anyway; messages will fail until a server answers)\n");
  }

  const editor = new LineEditor({ historyFile: join(setup.workspaceDir, HISTORY_FILE), complete: completeSlashCommand });
  const approve = createApprovalPrompt({
    assumeYes: options.yes,
    notify: (line) => say(`· ${line}`, "gray"),
    // Until the answer, nothing else reaches the terminal: another reply cannot draw over the question.
    ask: askOnConsole(renderer, async (prompt) => {
      const answer = await editor.readLine(prompt, { remember: false });
      // Ctrl-C at the question stops the whole turn, as it does while a reply streams.
      if (answer.type === "interrupt") editor.interrupt();
      // Ctrl-D answers no; only Ctrl-C stops the turn.
      return answer.type === "line" ? answer.text : answer.type === "eof" ? "" : undefined;
    }),
  });
  const room = await openChatRoom(setup, approve, (event) => renderer.handle(event));
  const onAbort = () => void editor.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await editor.start();
    const personas = room.personas().map((persona) => `${persona.name} (${persona.model})`);
    renderer.print(ansi.join(ansi.text("org", "bold"), ansi.text(` — ${personas.join(", ")}. Session ${room.sessionId}.\n`)));
    say("Type a message; @name asks one persona. /help lists commands. Ctrl-C stops a reply, twice leaves.", "gray");
    if (options.resume !== undefined) {
      // A replayed transcript is outside text like a live reply: say() sanitizes it.
      const earlier = room.history();
      say(`Resumed with ${earlier.length} earlier messages; the last ones:`, "gray");
      for (const message of earlier.slice(-4)) say(formatMessage(message), "gray");
    }
    await runChatLoop(
      editor,
      {
        host: roomSlashHost(room, config, setup.workspaceDir),
        send: async (text, turnSignal) => {
          await room.send(text, { signal: turnSignal });
          await renderer.idle();
        },
        write: (text) => renderer.print(ansi.text(text)),
        clearScreen: () => renderer.print(ansi.clearScreen),
      },
      { prompt: () => ansi.text(`${formatRoomMode(room.mode)} › `, "bold"), signal },
    );
  } finally {
    signal.removeEventListener("abort", onAbort);
    await editor.close();
    await room.close();
  }
  const elsewhere = resolve(setup.workspaceDir) === resolve(process.cwd()) ? "" : ` --workspace ${shellWord(setup.workspaceDir)}`;
  say(`transcript: ${shownPath(room.transcriptPath)}\nresume with: ${orgInvocation()} chat${elsewhere} --resume ${room.sessionId}`);
  return 0;
}

/** `org chat`: the room in this terminal, or one turn with `--once`. */
export const chatCommand: Command = {
  name: "chat",
  summary: "the chat room in this terminal (default); --once TEXT [--json] for one turn",
  help: HELP,
  async run(args, signal) {
    const setup = prepare(args);
    if (setup.options.once !== undefined) return runOnce(setup, setup.options.once, signal);
    return runInteractive(setup, signal);
  },
};
