import { runFactsCommand } from "../../memory/facts-command.ts";
import { routeLines } from "../../config/model-routes.ts";
import { BUILD_TOOL } from "../../personas/build-tool.ts";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { OrgConfig } from "../../config/org-config.ts";
import { TRANSCRIPTS_DIR } from "../../config/workspace-paths.ts";
import { sessionFolder } from "../../room/session-files.ts";
import type { RoomMessage } from "../../personas/room-message.ts";
import type { Room } from "../../room/room.ts";
import { formatRoomMode } from "../../room/room-mode.ts";
import { formatContextReport } from "../../room/context-report.ts";
import { sanitizeOutput } from "../../sandbox/describe-result.ts";
import { writePrivateFile } from "../../security/private-state.ts";
import { scanForSecrets } from "../../security/scan-for-secrets.ts";
import type { SlashHost } from "./slash-commands.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import { formatMcpStatus } from "../../mcp-client/format-mcp-status.ts";
import { callPreview } from "./reply-lines.ts";
import { ToolOutputs } from "./tool-outputs.ts";

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

/**
 * `/output [N]`: a result's whole output under a line that says whose it is; the newest without a number. A screenshot a
 * result saved is named where it lies, `folder` being the session's (its scratch, `.org/scratch/<id>`).
 */
function toolOutputText(outputs: ToolOutputs, number: number | undefined, folder: string): string {
  const entry = outputs.get(number);
  if (!entry) {
    if (outputs.newest === 0) throw new Error("no tool has run in this session yet");
    if (number !== undefined && number <= outputs.newest)
      throw new Error(`result ${number} is no longer kept (only the newest are); /save writes every output`);
    throw new Error(`there is no result ${number}: give a number from 1 to ${outputs.newest}, or none for the newest`);
  }
  const status = entry.ok ? "" : " (failed)";
  return (
    `── ${entry.name} for ${entry.persona}, result ${entry.number}${status} ` +
    `──\n${entry.output === "" ? "(no output)" : entry.output.replace(/\n$/, "")}` +
    (entry.screenshot ? `\nscreenshot: ${folder}/${entry.screenshot}` : "")
  );
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

/** `/mcp`: the hub's servers as lines, and confirming one by name. */
function mcpSlashHost(hub: McpHub): NonNullable<SlashHost["mcp"]> {
  return {
    lines: () => formatMcpStatus(hub.status()),
    trust: (server) => {
      const known = hub.servers.map((entry) => entry.name);
      if (!known.includes(server)) throw new Error(`there is no MCP server "${server}"; mcpServers has: ${known.join(", ")}`);
      hub.trust(server);
      return `confirmed ${server}: it starts now, and starts from now on until its command, args or env change (remembered in your org folder)`;
    },
  };
}

/** Each persona's window and what its system prompt and tools take of it (`/models`). */
function personaWindows(room: Room, signal: AbortSignal): ReturnType<SlashHost["windows"]> {
  return Promise.all(
    room.personas().map(async (persona) => {
      const report = await room.context(persona.name, signal);
      return { persona: persona.name, window: report.window, fixedTokens: report.parts.system + report.parts.tools };
    }),
  );
}

/** Lets the slash commands act on a room; `config` gives the secrets to redact; `recall` searches memory; `mcp` the room's MCP servers. */
export function roomSlashHost(
  room: Room,
  config: OrgConfig,
  workspaceDir: string,
  recall?: SlashHost["recall"],
  mcp?: McpHub,
  outputs?: ToolOutputs,
): SlashHost {
  // Without the console's own record, the session's messages are numbered as they stand.
  const results = () => outputs ?? ToolOutputs.fromHistory(room.history());
  return {
    output: (number) => toolOutputText(results(), number, sessionFolder(workspaceDir, room.sessionId)),
    ...(mcp ? { mcp: mcpSlashHost(mcp) } : {}),
    mode: () => formatRoomMode(room.mode),
    modelRoutes: () => routeLines(config.models),
    setMode: (mode) => room.setMode(mode),
    personas: () =>
      room.personas().map((persona) => ({
        name: persona.name,
        model: persona.model,
        server: persona.server,
        tools: [
          ...persona.tools
            .filter((name) => !(persona.kind === "toolsmith" && name === BUILD_TOOL))
            .map((name) => ({
              name,
              // The room's own policies: promoted tools are offered to agents as "ask" when the room is assembled.
              approval: persona.policies[name] === "ask" ? ("ask" as const) : ("allow" as const),
            })),
          // The toolsmith's own tool: not in the room's policy, never asks (personas/toolsmith-persona.ts).
          ...(persona.kind === "toolsmith" ? [{ name: BUILD_TOOL, approval: "allow" as const }] : []),
        ],
      })),
    serverModels: (signal) => room.serverModels(signal),
    windows: (signal) => personaWindows(room, signal),
    useModel: (persona, model, signal) => room.useModel(persona, model, signal),
    history: (count) => {
      const known = results();
      return room
        .history()
        .slice(-count)
        .map((message) => formatMessage(message, known));
    },
    clear: () => room.clear(),
    diff: () => room.lastDiff(),
    undo: (force) => {
      const record = room.undo({ force });
      return `undid change ${record.id}: ${record.files.length} ${record.files.length === 1 ? "file" : "files"} restored`;
    },
    wish: (text) => room.wish(text),
    compact: async (focus, signal) => {
      const outcomes = await room.compact({ ...(focus ? { focus } : {}), signal });
      // A summary written is said by the room (its compaction event); what could not be is said here.
      return outcomes.flatMap((outcome) => (outcome.ok ? [] : [`${outcome.persona}: nothing compacted (${outcome.reason})`]));
    },
    context: async (persona, signal) => {
      const mode = room.mode;
      const names = persona !== undefined ? [persona] : mode.kind === "direct" ? [mode.persona] : room.personas().map((entry) => entry.name);
      const reports = await Promise.all(names.map((name) => room.context(name, signal)));
      return reports.flatMap((report) => formatContextReport(report));
    },
    ...(recall ? { recall, facts: (argument: string) => runFactsCommand(argument, { workspaceDir, secrets: config.secrets }) } : {}),
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
