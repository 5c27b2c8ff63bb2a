import { resolve } from "node:path";
import { environmentSettings } from "../../config/environment.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { RoomModeError } from "../../room/room-mode.ts";
import { parseRoomMode } from "../../room/room-mode.ts";
import { type ChatOptions, parseChatArgs } from "./chat-args.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { commandHelp } from "../../room/interpret-command.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { misspeltMentions } from "./misspelt-mentions.ts";
import { wrapText } from "../terminal/wrap-line.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { standardOutput } from "../terminal/standard-output.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import type { ChatSetup } from "./chat-room.ts";
import { type OnceInput, onceInput, runOnce, sayMisspelt } from "./chat-once.ts";
import { readConfig } from "./reopen-on-change.ts";

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

${wrapText(commandHelp("terminal").join("\n"), 108)}

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
  const color = standardOutput(1).isTerminal && !environmentSettings().noColor;
  return { options, workspaceDir, config, color, ...(once ? { once } : {}) };
}

/** A `--once` text that cannot run: said on stderr (and as a JSON error line under `--json`); exit 2. */
function refuseOnce(options: ChatOptions, message: string): number {
  if (options.json) standardOutput(1).write(`${terminalSafeJson({ type: "error", kind: "usage", message })}\n`);
  standardOutput(2).write(`org: ${sanitizeForTerminal(message)}\n`);
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

/** `org chat`: the room in this terminal, or one turn with `--once`. */
export const chatCommand: Command = {
  ...nameAndSummary("chat"),
  help: HELP,
  async run(args, signal) {
    const setup = prepare(args);
    if ("refused" in setup) return setup.refused;
    if (setup.once !== undefined) return runOnce(setup, setup.once, signal);
    return (await import("./run-interactive.ts")).runInteractive(setup, signal);
  },
};
