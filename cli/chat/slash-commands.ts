import { TRANSCRIPTS_DIR } from "../../config/workspace-paths.ts";
import { describeWindow } from "../../llm/model-window.ts";
import type { ServerModels } from "../../room/room.ts";
import { alignColumns } from "../terminal/align-columns.ts";
/** A command typed in the chat, after parsing. */
export type SlashCommand =
  | { name: "mode"; mode?: string }
  | { name: "models" }
  | { name: "use"; persona: string; model: string }
  | { name: "tools" }
  | { name: "history"; count?: number }
  | { name: "clear" }
  | { name: "save"; file?: string }
  | { name: "recall"; query: string }
  | { name: "diff" }
  | { name: "undo"; force: boolean }
  | { name: "wish"; text: string }
  | { name: "mcp"; trust?: string }
  | { name: "output"; number?: number }
  | { name: "compact"; focus?: string }
  | { name: "context"; persona?: string }
  | { name: "facts"; argument: string }
  | { name: "help" }
  | { name: "quit" };

/** What a line of input is: a message for the room, a command, or a command typed wrong. */
export type ParsedInput =
  | { type: "message"; text: string }
  | { type: "empty" }
  | { type: "command"; command: SlashCommand }
  | { type: "invalid"; message: string };

type Spec = { usage: string; summary: string; parse(args: string[]): SlashCommand | string };

/** The commands that take no arguments. */
type BareCommand = Extract<SlashCommand, { name: "models" | "tools" | "clear" | "diff" | "help" | "quit" }>;

/** A command that takes no arguments: its usage is its name. */
const bare = (name: BareCommand["name"], summary: string): Spec => ({
  usage: `/${name}`,
  summary,
  parse: (args) => (args.length === 0 ? { name } : "takes no arguments"),
});

/** A command that takes nothing or one whole number above 0: the command, or `refusal` for anything else. */
function optionalCount(args: string[], command: (count: number | undefined) => SlashCommand, refusal: string): SlashCommand | string {
  if (args.length === 0) return command(undefined);
  const count = Number(args[0]);
  return args.length > 1 || !Number.isInteger(count) || count <= 0 ? refusal : command(count);
}

const SPECS: Record<string, Spec> = {
  mode: {
    usage: "/mode [group | direct:<persona> | file:<path>]",
    summary: "show or switch who hears you: everyone, one persona, or replies written to a file",
    parse: (args) => {
      if (args.length > 1) return "takes one mode, e.g. /mode group, /mode direct:python or /mode file:notes.md";
      const mode = args[0];
      if (mode === undefined) return { name: "mode" };
      if (mode === "group" || /^direct:\S+$/.test(mode) || /^file:\S+$/.test(mode)) return { name: "mode", mode };
      return `'${mode}' is not a mode; use group, direct:<persona> or file:<path>`;
    },
  },
  models: bare("models", "list each persona's model, server and window, and the models the servers have"),
  use: {
    usage: "/use <persona> <model>",
    summary: "switch a persona to another model (checked against its server's model list)",
    parse: (args) => {
      const [persona, model] = args;
      if (args.length !== 2 || !persona || !model) return "needs a persona and a model, e.g. /use agent qwen3:8b";
      return { name: "use", persona, model };
    },
  },
  tools: bare("tools", "list the tools each persona may call, and which ones ask you first"),
  history: {
    usage: "/history [N]",
    summary: "show the last N messages of this session (default 20), with the tools each reply ran",
    parse: (args) =>
      optionalCount(args, (count) => ({ name: "history", ...(count === undefined ? {} : { count }) }), "takes a positive number, e.g. /history 50"),
  },
  clear: bare("clear", "forget the conversation so far (the session file keeps it) and clear the screen"),
  save: {
    usage: "/save [file]",
    summary: `write the conversation as Markdown (default ${TRANSCRIPTS_DIR}/<session>.md)`,
    parse: (args) => {
      if (args.length > 1) return "takes one file name; quote nothing, spaces are not allowed";
      return args[0] === undefined ? { name: "save" } : { name: "save", file: args[0] };
    },
  },
  recall: {
    usage: "/recall <words>",
    summary: "search the workspace's memory of past sessions and saved facts",
    parse: (args) => (args.length === 0 ? "needs words to look for, e.g. /recall staging database" : { name: "recall", query: args.join(" ") }),
  },
  diff: bare("diff", "show the diff of the newest change a command made to the workspace"),
  undo: {
    usage: "/undo [--force]",
    summary: "take back the newest applied workspace change (again: the one before); --force even over later edits",
    parse: (args) => {
      if (args.length === 0) return { name: "undo", force: false };
      return args.length === 1 && args[0] === "--force" ? { name: "undo", force: true } : "takes only --force, e.g. /undo --force";
    },
  },
  wish: {
    usage: "/wish <words>",
    summary: "say what you wish the room could do; org grow reads it and may build a tool for it",
    parse: (args) => (args.length === 0 ? "needs words, e.g. /wish a tool that converts currencies" : { name: "wish", text: args.join(" ") }),
  },
  mcp: {
    usage: "/mcp [trust <server>]",
    summary: "list the MCP servers, their state and tools; trust <server> confirms one and starts it",
    parse: (args) => {
      if (args.length === 0) return { name: "mcp" };
      const [word, server] = args;
      return word === "trust" && server !== undefined && args.length === 2
        ? { name: "mcp", trust: server }
        : "takes nothing, or trust <server>, e.g. /mcp trust files";
    },
  },
  output: {
    usage: "/output [N]",
    summary: "show the whole output of the newest tool result, or of result N (its ✓ line names N)",
    parse: (args) =>
      optionalCount(
        args,
        (number) => ({ name: "output", ...(number === undefined ? {} : { number }) }),
        "takes a result's number, e.g. /output 3 (its ✓ line names it)",
      ),
  },
  compact: {
    usage: "/compact [focus]",
    summary: "summarise each persona's earlier messages now (focus: what to keep above all); their prompts hold the summary",
    parse: (args) => (args.length === 0 ? { name: "compact" } : { name: "compact", focus: args.join(" ") }),
  },
  context: {
    usage: "/context [persona]",
    summary: "show what a persona's next prompt holds, part by part, in tokens, and its model's window",
    parse: (args) => {
      if (args.length > 1) return "takes one persona, e.g. /context agent";
      return args[0] === undefined ? { name: "context" } : { name: "context", persona: args[0] };
    },
  },
  facts: {
    usage: "/facts [accept N | reject N]",
    summary: "list what the observer learned about you from your own words, waiting for you; accept or reject one",
    parse: (args) => ({ name: "facts", argument: args.join(" ") }),
  },
  help: bare("help", "show this list"),
  quit: bare("quit", "leave the room (Ctrl-D or Ctrl-C twice also do)"),
};

const ALIASES: Record<string, string> = { exit: "quit", q: "quit", "?": "help", h: "help", model: "models" };

/** The help text listing every command. */
export function slashHelp(): string {
  const width = Math.max(...Object.values(SPECS).map((spec) => spec.usage.length));
  return [
    "Commands:",
    ...Object.values(SPECS).map((spec) => `  ${spec.usage.padEnd(width)}  ${spec.summary}`),
    "",
    // One line: the console wraps it between words at the terminal's width.
    "Anything else is a message to the room; @name addresses one persona. Start with // to send a line that " +
      "begins with /. Multi-line: end a line with \\ or press Alt-Enter. Ctrl-C stops a reply; twice leaves.",
  ].join("\n");
}

/**
 * Why `command` runs only when a person types it in the room, or undefined: it confirms and starts a server, lowers a
 * guard, or writes wherever its words say. `org chat --once TEXT` refuses such a command, since a script may hand it
 * someone else's text, and so does the room when its input is not a terminal (`from` names which); the reason names
 * the way that remains (the room in a terminal, or a subcommand of its own).
 */
export function roomOnly(command: SlashCommand, from = "--once"): string | undefined {
  switch (command.name) {
    case "mcp":
      return command.trust === undefined
        ? undefined
        : `/mcp trust confirms an MCP server and starts it, so it is never run from ${from}: ` +
            `run 'org mcp trust ${command.trust}' (it prints what it confirms), or type it in the room`;
    case "undo":
      return command.force
        ? `/undo --force takes a change back over your later edits, so it is never run from ${from}: run 'org undo --force', or type it in the room`
        : undefined;
    case "facts":
      return /^\s*accept\b/.test(command.argument)
        ? `/facts accept puts words about you into every persona's prompt, so it is never run from ${from}: type it in the room`
        : undefined;
    case "save":
      return command.file === undefined
        ? undefined
        : `/save FILE writes wherever FILE says, so it is never run from ${from}: /save alone writes into .org/transcripts/, or type it in the room`;
    default:
      return undefined;
  }
}

/** Tab completion of a command name: the rest of the only command starting with what was typed. */
export function completeSlashCommand(before: string): string | undefined {
  const match = /^\/([a-z]*)$/i.exec(before);
  if (!match) return undefined;
  const typed = (match[1] ?? "").toLowerCase();
  const candidates = Object.keys(SPECS).filter((name) => name.startsWith(typed));
  const [only, ...others] = candidates;
  if (only === undefined || others.length > 0) return undefined;
  return `${only.slice(typed.length)} `;
}

/** Splits a typed line into a message or a command. Never throws: mistakes come back as `invalid`. */
export function parseInput(line: string): ParsedInput {
  const trimmed = line.trim();
  if (trimmed === "") return { type: "empty" };
  if (trimmed.startsWith("//")) return { type: "message", text: trimmed.slice(1) };
  if (!trimmed.startsWith("/")) return { type: "message", text: line };
  const [word = "", ...args] = trimmed.slice(1).split(/\s+/);
  const name = ALIASES[word.toLowerCase()] ?? word.toLowerCase();
  const spec = Object.hasOwn(SPECS, name) ? SPECS[name] : undefined;
  if (!spec) {
    const guess = closestCommand(name);
    return {
      type: "invalid",
      message:
        `unknown command /${word}.${guess ? ` Did you mean /${guess}?` : ""} Type /help for the list, ` + `or // to send a message starting with /.`,
    };
  }
  const parsed = spec.parse(args);
  if (typeof parsed === "string") return { type: "invalid", message: `/${name} ${parsed}. Usage: ${spec.usage}` };
  return { type: "command", command: parsed };
}

function closestCommand(word: string): string | undefined {
  if (word === "") return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of Object.keys(SPECS)) {
    const distance = name.startsWith(word) ? 0 : editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= 2 ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

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

/** `/models`' lines for the windows: each one and where it came from; a warning where the fixed part takes more than half. */
export function windowLines(windows: readonly PersonaWindow[]): string[] {
  return windows.flatMap(({ persona, window, fixedTokens }) => [
    `  ${persona}'s window: ${describeWindow(window)}; system prompt and tools about ${fixedTokens} tokens`,
    ...(fixedTokens * 2 > window.tokens
      ? [`  ! ${persona}'s system prompt and tools take more than half its window: give the model a larger one, or ${persona} fewer tools`]
      : []),
  ]);
}

/** What the commands act on; the chat command adapts the room to this. */
export type SlashHost = {
  mode(): string;
  /** Throws an error whose message says what was wrong (e.g. an unknown persona). */
  setMode(mode: string): void;
  personas(): PersonaSummary[];
  /** The model ids each server offers; a server that cannot be reached gives its error message. */
  serverModels(signal: AbortSignal): Promise<ServerModels[]>;
  /** Throws when the persona or model is unknown, with a message that says so. */
  useModel(persona: string, model: string, signal: AbortSignal): Promise<void>;
  /** The last `count` messages, formatted for the terminal. */
  history(count: number): string[];
  clear(): void;
  /** Writes the conversation; resolves to the path written. */
  save(file: string | undefined): Promise<string>;
  /** Searches memory; resolves to the lines to show. Absent when memory is off. */
  recall?(query: string, signal: AbortSignal): Promise<string>;
  /** The newest workspace change's diff, or undefined when none was made here. */
  diff(): string | undefined;
  /** Takes back the newest applied workspace change; the line to show. Throws with what to do when it cannot. */
  undo(force: boolean): string;
  /** Records a wish for `org grow` (the room says it as a notice). */
  wish(text: string): void;
  /** The room's MCP servers: their lines for `/mcp`, and confirming one (the line to show). Absent when none is configured. */
  mcp?: { lines(): string[]; trust(server: string): string };
  /** A tool result's whole output for `/output` (the newest without a number); throws saying which there are. */
  output(number: number | undefined): string;
  /** `/compact`: summarises the personas' earlier messages now; the lines to show for those it could not (the room says the rest). */
  compact(focus: string | undefined, signal: AbortSignal): Promise<string[]>;
  /** Each persona's window and where it came from, and the tokens its system prompt and tools take (`/models`). */
  windows(signal: AbortSignal): Promise<PersonaWindow[]>;
  /** The model router's routes as lines (`models.byPurpose`, `models.byTool` in org.config.json), for `/models`. */
  modelRoutes?(): string[];
  /** `/facts [accept N | reject N]`: the observer's proposals (`memory/facts-command.ts`); the text to show. Absent without memory. */
  facts?(argument: string): string;
  /** `/context`: what a persona's next prompt holds (each persona's, or the direct one's, without a name), as lines. */
  context(persona: string | undefined, signal: AbortSignal): Promise<string[]>;
};

/** `failed`: the command could not do what it was asked (it said why); the room goes on. */
export type SlashOutcome = "continue" | "quit" | "cleared" | "failed";

type SlashContext = { write(line: string): void; signal: AbortSignal };
type Handlers = {
  [Name in SlashCommand["name"]]: (command: Extract<SlashCommand, { name: Name }>, host: SlashHost, context: SlashContext) => Promise<void> | void;
};

/** What each command does; `runSlashCommand` says the outcome. */
const HANDLERS: Handlers = {
  mode(command, host, { write }) {
    if (command.mode === undefined) {
      const names = host.personas().map((persona) => persona.name);
      write(`mode: ${host.mode()}  (others: group, ${names.map((name) => `direct:${name}`).join(", ")}, file:<path>)`);
    }
    // The room announces the new mode itself (the same way as when a persona switches it).
    else host.setMode(command.mode);
  },
  async models(_command, host, { write, signal }) {
    const rows = [["persona", "model", "server"], ...host.personas().map((persona) => [persona.name, persona.model, persona.server])];
    for (const row of alignColumns(rows)) write(`  ${row}`);
    for (const line of windowLines(await host.windows(signal))) write(line);
    const routes = host.modelRoutes?.() ?? [];
    if (routes.length > 0) write(`  routed (models in org.config.json; /use wins for a persona): ${routes.join("; ")}`);
    for (const server of await host.serverModels(signal)) {
      if ("error" in server) write(`  ${server.server}: cannot list models (${server.error})`);
      else write(`  ${server.server} has: ${server.models.join(", ") || "(no models)"}`);
    }
  },
  // The room announces the change itself (a "model" event), so it is said once.
  use: (command, host, { signal }) => host.useModel(command.persona, command.model, signal),
  tools(_command, host, { write }) {
    for (const persona of host.personas()) {
      const tools = persona.tools.map((tool) => (tool.approval === "ask" ? `${tool.name} (asks first)` : tool.name));
      write(`  ${persona.name}: ${tools.join(", ") || "no tools"}`);
    }
  },
  history(command, host, { write }) {
    const lines = host.history(command.count ?? 20);
    if (lines.length === 0) write("(no messages yet)");
    for (const line of lines) write(line);
  },
  clear: (_command, host) => host.clear(),
  save: async (command, host, { write }) => write(`saved the conversation to ${await host.save(command.file)}`),
  async recall(command, host, { write, signal }) {
    if (!host.recall) write("memory is off for this session (org said why when the room opened).");
    else write(await host.recall(command.query, signal));
  },
  diff(_command, host, { write }) {
    const diff = host.diff();
    write(diff === undefined ? "(no workspace change in this session yet)" : diff.replace(/\n$/, ""));
  },
  undo: (command, host, { write }) => write(host.undo(command.force)),
  wish: (command, host) => host.wish(command.text),
  mcp(command, host, { write }) {
    const none = 'add them under "mcpServers" in org.config.json (see docs/mcp-servers.md)';
    // Confirming a server that is not there fails (exit 1 under --once); listing none is an answer.
    if (!host.mcp && command.trust !== undefined) throw new Error(`there is no MCP server "${command.trust}": none is configured; ${none}`);
    if (!host.mcp) write(`no MCP servers: ${none}`);
    else if (command.trust !== undefined) write(host.mcp.trust(command.trust));
    else for (const line of host.mcp.lines()) write(line);
  },
  output: (command, host, { write }) => write(host.output(command.number)),
  async compact(command, host, { write, signal }) {
    for (const line of await host.compact(command.focus, signal)) write(line);
  },
  async context(command, host, { write, signal }) {
    for (const line of await host.context(command.persona, signal)) write(line);
  },
  facts: (command, host, { write }) =>
    write(host.facts ? host.facts(command.argument) : "memory is off for this session (org said why when the room opened)."),
  help: (_command, _host, { write }) => write(slashHelp()),
  quit: () => {},
};

/** Hands `command` to its handler (a switch, so each gets its own command type). */
function dispatch(command: SlashCommand, host: SlashHost, context: SlashContext): Promise<void> | void {
  switch (command.name) {
    case "mode":
      return HANDLERS.mode(command, host, context);
    case "models":
      return HANDLERS.models(command, host, context);
    case "use":
      return HANDLERS.use(command, host, context);
    case "tools":
      return HANDLERS.tools(command, host, context);
    case "history":
      return HANDLERS.history(command, host, context);
    case "clear":
      return HANDLERS.clear(command, host, context);
    case "save":
      return HANDLERS.save(command, host, context);
    case "recall":
      return HANDLERS.recall(command, host, context);
    case "diff":
      return HANDLERS.diff(command, host, context);
    case "undo":
      return HANDLERS.undo(command, host, context);
    case "wish":
      return HANDLERS.wish(command, host, context);
    case "mcp":
      return HANDLERS.mcp(command, host, context);
    case "output":
      return HANDLERS.output(command, host, context);
    case "compact":
      return HANDLERS.compact(command, host, context);
    case "context":
      return HANDLERS.context(command, host, context);
    case "facts":
      return HANDLERS.facts(command, host, context);
    case "help":
      return HANDLERS.help(command, host, context);
    case "quit":
      return HANDLERS.quit(command, host, context);
  }
}

/** Runs one command against the room; prints results and problems with `write`, never throws for user errors. */
export async function runSlashCommand(command: SlashCommand, host: SlashHost, context: SlashContext): Promise<SlashOutcome> {
  try {
    await dispatch(command, host, context);
    return command.name === "quit" ? "quit" : command.name === "clear" ? "cleared" : "continue";
  } catch (error) {
    context.write(
      context.signal.aborted ? `/${command.name} was stopped.` : `/${command.name}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return "failed";
  }
}
