import { join } from "node:path";
import { routeLines } from "../config/model-routes.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { SESSIONS_DIR } from "../config/workspace-paths.ts";
import { describeWindow } from "../llm/model-window.ts";
import { formatMcpStatus } from "../mcp-client/format-mcp-status.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import { BUILD_TOOL } from "../personas/build-tool.ts";
import { formatContextReport } from "./context-report.ts";
import type { Room, ServerModels } from "./room.ts";
import { formatRoomMode } from "./room-mode.ts";
import { sessionFolder } from "./session-files.ts";
import { tokensOnDay, transcriptTokens } from "./tokens-used.ts";
import { ToolOutputs } from "./tool-outputs.ts";

/** A persona as the commands show it. */
export type PersonaSummary = {
  name: string;
  model: string;
  server: string;
  tools: Array<{ name: string; approval: "allow" | "ask" }>;
};

/** A persona's window as `/models` shows it: the window, and what its system prompt and tools take of it. */
export type PersonaWindow = {
  persona: string;
  window: { tokens: number; source: string; detail?: string | undefined; trainedTokens?: number | undefined };
  fixedTokens: number;
};

/** What the room's commands act on: the room's own acts, and what a front end adds (`history`, `save`, `chat`). */
export type CommandContext = {
  mode(): string;
  /** Throws an error whose message says what was wrong (e.g. an unknown persona). */
  setMode(mode: string): void;
  personas(): PersonaSummary[];
  /** The model ids each server offers; a server that cannot be reached gives its error message. */
  serverModels(signal: AbortSignal): Promise<ServerModels[]>;
  /** Throws when the persona or model is unknown, with a message that says so. */
  useModel(persona: string, model: string, signal: AbortSignal): Promise<void>;
  clear(): void;
  /** The newest workspace change's diff, or undefined when none was made here. */
  diff(): string | undefined;
  /** Takes back the newest applied workspace change; the line to show. Throws with what to do when it cannot. */
  undo(force: boolean): string;
  /** Records a wish for `org grow` (the room says it as a notice). */
  wish(text: string): void;
  /** A tool result's whole output for `/output` (the newest without a number); throws saying which there are. */
  output(number: number | undefined): string;
  /** `/compact`: summarises the personas' earlier messages now; the lines for those it could not (the room says the rest). */
  compact(focus: string | undefined, signal: AbortSignal): Promise<string[]>;
  /** Each persona's window and where it came from, and the tokens its system prompt and tools take (`/models`). */
  windows(signal: AbortSignal): Promise<PersonaWindow[]>;
  /** The model router's routes as lines (`models.byPurpose`, `models.byTool` in org.config.json), for `/models`. */
  modelRoutes(): string[];
  /** `/context`: what a persona's next prompt holds (each persona's, or the direct one's, without a name), as lines. */
  context(persona: string | undefined, signal: AbortSignal): Promise<string[]>;
  /** `/budget`: the session's tokens and today's, as lines. */
  budget(): string[];
  /** Searches memory; resolves to the lines to show. Absent when memory is off. */
  recall?(query: string, signal: AbortSignal): Promise<string>;
  /**
   * `/facts [accept N | reject N]`: the observer's proposals about the person and the answer to one (memory's
   * `runFactsCommand`, handed in by the front end: room/ does not import memory/); the text to show. Absent when memory is off.
   */
  facts?(argument: string): string;
  /** The room's MCP servers: their lines for `/mcp`, and confirming one (the line to show). Absent when none is configured. */
  mcp?: { lines(): string[]; trust(server: string): string };
  /** The terminal's: the last `count` messages, formatted for it. */
  history?(count: number): string[];
  /** The terminal's: writes the conversation; resolves to the path written. */
  save?(file: string | undefined): Promise<string>;
  /** A Telegram chat's: its session's id, org's status, and stopping what runs and waits in it. */
  chat?: { session(): Promise<string>; status(signal: AbortSignal): Promise<string>; stop(): Promise<{ turns: number; dropped: number }> };
};

/** What the room alone does not know: the config's routes, the workspace, memory's search, the MCP servers, the console's results. */
export type CommandParts = {
  config: Pick<OrgConfig, "models" | "limits">;
  workspaceDir: string;
  recall?: CommandContext["recall"];
  facts?: CommandContext["facts"];
  mcp?: McpHub;
  /**
   * The console's numbering of tool results, or how to read them when `/output` asks (the web room's, from the
   * transcript); without it, the session's results as its messages stand.
   */
  outputs?: ToolOutputs | (() => ToolOutputs);
  /** The start of the day /budget counts from (default: now). */
  now?: () => Date;
  /** How `/output` names a screenshot a result saved (default: its path here, in the session's folder). */
  screenshotAt?: (path: string) => string;
};

/** The commands' context on `room`; a front end spreads its own members (`history`, `save`, `chat`) over it. */
export function roomCommandContext(room: Room, parts: CommandParts): CommandContext {
  const { outputs } = parts;
  const results = () => (typeof outputs === "function" ? outputs() : (outputs ?? ToolOutputs.fromHistory(room.history())));
  return {
    mode: () => formatRoomMode(room.mode),
    setMode: (mode) => room.setMode(mode),
    personas: () => personaSummaries(room),
    serverModels: (signal) => room.serverModels(signal),
    useModel: (persona, model, signal) => room.useModel(persona, model, signal),
    clear: () => room.clear(),
    diff: () => room.lastDiff(),
    undo: (force) => {
      const record = room.undo({ force });
      return `undid change ${record.id}: ${record.files.length} ${record.files.length === 1 ? "file" : "files"} restored`;
    },
    wish: (text) => room.wish(text),
    output: (number) =>
      toolOutputText(results(), number, parts.screenshotAt ?? ((path) => `${sessionFolder(parts.workspaceDir, room.sessionId)}/${path}`)),
    compact: async (focus, signal) => {
      const outcomes = await room.compact({ ...(focus ? { focus } : {}), signal });
      // A summary written is said by the room (its compaction event); what could not be is said here.
      return outcomes.flatMap((outcome) => (outcome.ok ? [] : [`${outcome.persona}: nothing compacted (${outcome.reason})`]));
    },
    windows: (signal) => personaWindows(room, signal),
    modelRoutes: () => routeLines(parts.config.models),
    context: async (persona, signal) => {
      const names =
        persona !== undefined ? [persona] : room.mode.kind === "direct" ? [room.mode.persona] : room.personas().map((entry) => entry.name);
      const reports = await Promise.all(names.map((name) => room.context(name, signal)));
      return reports.flatMap((report) => formatContextReport(report));
    },
    budget: () => budgetLines(room, parts),
    ...(parts.recall ? { recall: parts.recall } : {}),
    ...(parts.facts ? { facts: parts.facts } : {}),
    ...(parts.mcp ? { mcp: mcpCommands(parts.mcp) } : {}),
  };
}

function personaSummaries(room: Room): PersonaSummary[] {
  return room.personas().map((persona) => ({
    name: persona.name,
    model: persona.model,
    server: persona.server,
    tools: [
      ...persona.tools
        .filter((name) => !(persona.kind === "toolsmith" && name === BUILD_TOOL))
        // The room's own policies: promoted tools are offered to agents as "ask" when the room is assembled.
        .map((name) => ({ name, approval: persona.policies[name] === "ask" ? ("ask" as const) : ("allow" as const) })),
      // The toolsmith's own tool: not in the room's policy, never asks (personas/toolsmith-persona.ts).
      ...(persona.kind === "toolsmith" ? [{ name: BUILD_TOOL, approval: "allow" as const }] : []),
    ],
  }));
}

/**
 * `/output [N]`: a result's whole output under a line that says whose it is; the newest without a number. A screenshot a
 * result saved is named where it lies, `at` naming it (by default in the session's folder, its scratch, `.org/scratch/<id>`).
 */
function toolOutputText(outputs: ToolOutputs, number: number | undefined, at: (path: string) => string): string {
  const entry = outputs.get(number);
  if (!entry) {
    if (outputs.newest === 0) throw new Error("no tool has run in this session yet");
    if (number !== undefined && number <= outputs.newest)
      throw new Error(`result ${number} is no longer kept (only the newest are); /save writes every output`);
    throw new Error(`there is no result ${number}: give a number from 1 to ${outputs.newest}, or none for the newest`);
  }
  const status = entry.ok ? "" : " (failed)";
  const output = entry.output === "" ? "(no output)" : entry.output.replace(/\n$/, "");
  const screenshot = entry.screenshot ? `\nscreenshot: ${at(entry.screenshot)}` : "";
  return `── ${entry.name} for ${entry.persona}, result ${entry.number}${status} ──\n${output}${screenshot}`;
}

/** Each persona's window and what its system prompt and tools take of it (`/models`). */
function personaWindows(room: Room, signal: AbortSignal): Promise<PersonaWindow[]> {
  return Promise.all(
    room.personas().map(async (persona) => {
      const report = await room.context(persona.name, signal);
      return { persona: persona.name, window: report.window, fixedTokens: report.parts.system + report.parts.tools };
    }),
  );
}

/** `/models`' lines for the windows: each one and where it came from; a warning where the fixed part takes more than half. */
export function windowLines(windows: readonly PersonaWindow[]): string[] {
  return windows.flatMap(({ persona, window, fixedTokens }) => [
    `  ${persona}'s window: ${describeWindow(window)}; system prompt and tools about ${fixedTokens} tokens`,
    ...(fixedTokens * 2 > window.tokens
      ? [`  ! ${persona}'s system prompt and tools take more than half its window: give the model a larger one, or ${persona} fewer tools`]
      : []),
  ]);
}

/** `/mcp`: the hub's servers as lines, and confirming one by name. */
function mcpCommands(hub: McpHub): NonNullable<CommandContext["mcp"]> {
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

/** `/budget`: this session's tokens against limits.sessionTokens, and every session's since midnight UTC against limits.tokensPerDay. */
function budgetLines(room: Room, parts: CommandParts): string[] {
  const limit = parts.config.limits.sessionTokens;
  const used = transcriptTokens(room.transcriptPath);
  const today = tokensOnDay(join(parts.workspaceDir, SESSIONS_DIR), parts.now?.() ?? new Date());
  const perDay = parts.config.limits.tokensPerDay;
  return [
    `this session: ${used} tokens used, ${Math.max(limit - used, 0)} left of ${limit} (limits.sessionTokens).`,
    `today (since 00:00 UTC), every session of this workspace: ${today} tokens used` +
      (perDay === undefined
        ? "; no daily limit (limits.tokensPerDay sets one)."
        : `, ${Math.max(perDay - today, 0)} left of ${perDay} (limits.tokensPerDay).`),
  ];
}
