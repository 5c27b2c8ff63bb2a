import { mkdir, writeFile } from "node:fs/promises";
import { runFactsCommand } from "../../memory/facts-command.ts";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { OrgConfig } from "../../config/org-config.ts";
import { TRANSCRIPTS_DIR } from "../../config/workspace-paths.ts";
import type { RoomMessage } from "../../personas/room-message.ts";
import type { Room } from "../../room/room.ts";
import { formatRoomMode } from "../../room/room-mode.ts";
import { type CommandContext, roomCommandContext } from "../../room/command-context.ts";
import { sanitizeOutput } from "../../sandbox/describe-result.ts";
import { writePrivateFile } from "../../security/private-state.ts";
import { scanForSecrets } from "../../security/scan-for-secrets.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { callPreview } from "./reply-lines.ts";
import { ToolOutputs } from "../../room/tool-outputs.ts";

/**
 * One message for the terminal: "speaker: text", later lines indented under it, then a line for each tool its reply
 * ran, with the `/output` number that shows its whole output when `outputs` knows it.
 */
export function formatMessage(message: RoomMessage, outputs?: ToolOutputs): string {
  const failed = message.failed ? ` (ended early: ${message.failed})` : "";
  const where = message.file ? ` → ${message.file}` : "";
  const tools = (message.tools ?? []).map((run, index) => {
    const lines = run.output === "" ? 0 : run.output.split("\n").length;
    const number = outputs?.numberOf(message.id, index);
    const result = run.ok ? `✓ ${lines} line${lines === 1 ? "" : "s"} of output` : "✗ failed";
    return `\n    ⚙ ${run.call.name} ${callPreview(run.call)} → ${result}${number === undefined ? "" : ` · /output ${number}`}`;
  });
  return `${message.from}: ${message.text.replace(/\n/g, "\n    ")}${failed}${where}${tools.join("")}`;
}

/** A fenced block that no backtick run inside the text can close early. */
function fenced(text: string, info = ""): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${info}\n${text}\n${fence}`;
}

/** The tools a reply ran, as Markdown: each call's arguments, then what it answered. */
function toolsMarkdown(message: RoomMessage): string {
  return (message.tools ?? [])
    .map((run) => {
      const status = run.ok ? "" : " (failed)";
      // Tool output is anyone's text: no terminal escapes go into a file someone may `cat`.
      const name = sanitizeOutput(run.call.name);
      const call = fenced(sanitizeOutput(JSON.stringify(run.call.arguments, null, 2)), "json");
      return `**⚙ ${name}**${status}\n\n${call}\n\n${fenced(sanitizeOutput(run.output))}\n\n`;
    })
    .join("");
}

/**
 * The conversation as Markdown, one section per message, with the tool calls and output behind each reply. A
 * message the user sent as written past the credential guard is saved redacted, as the transcript keeps it.
 */
export function transcriptMarkdown(room: Room, secrets: readonly string[] = []): string {
  const sections = room.history().map((held) => {
    const message = held.from === "user" ? { ...held, text: scanForSecrets(held.text, secrets).redacted } : held;
    const heading = `## ${message.from} — ${message.time}`;
    const failed = message.failed ? `\n\n_(reply ended early: ${message.failed})_` : "";
    return `${heading}\n\n${toolsMarkdown(message)}${message.text}${failed}\n`;
  });
  return [`# org session ${room.sessionId}`, "", `Mode at save: ${formatRoomMode(room.mode)}`, "", ...sections].join("\n");
}

/**
 * The room's commands' context for the terminal: the room's own (`roomCommandContext`), with `/history` as the console
 * numbers tool results and `/save` writing Markdown; `config` gives the secrets to redact, `recall` searches memory (and /facts is on with it),
 * `mcp` the room's MCP servers.
 */
export function roomSlashHost(
  room: Room,
  config: OrgConfig,
  workspaceDir: string,
  recall?: CommandContext["recall"],
  mcp?: McpHub,
  outputs?: ToolOutputs,
): CommandContext {
  // Without the console's own record, the session's messages are numbered as they stand.
  const results = () => outputs ?? ToolOutputs.fromHistory(room.history());
  return {
    ...roomCommandContext(room, {
      config,
      workspaceDir,
      // Memory on: /recall searches it and /facts answers the observer's proposals (both absent when it is off).
      ...(recall ? { recall, facts: (argument: string) => runFactsCommand(argument, { workspaceDir, secrets: config.secrets }) } : {}),
      ...(mcp ? { mcp } : {}),
      ...(outputs ? { outputs } : {}),
    }),
    history: (count) => {
      const known = results();
      return room
        .history()
        .slice(-count)
        .map((message) => formatMessage(message, known));
    },
    save: async (file) => {
      const target = resolve(workspaceDir, file ?? join(TRANSCRIPTS_DIR, `${room.sessionId}.md`));
      if (file === undefined) {
        writePrivateFile(target, transcriptMarkdown(room, config.secrets));
      } else {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, transcriptMarkdown(room, config.secrets));
      }
      const shown = relative(process.cwd(), target);
      return shown.startsWith("..") || isAbsolute(shown) ? target : shown;
    },
  };
}
