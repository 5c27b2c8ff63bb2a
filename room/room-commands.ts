import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";
import { TRANSCRIPTS_DIR } from "../config/workspace-paths.ts";
import { CHAT, MODE, none, optionalCount, optionalWord, roomOnly, text, Words } from "./command-arguments.ts";
import { type CommandContext, windowLines } from "./command-context.ts";
import { type CommandAnswer, answer, defineCommand, type RoomCommand } from "./command-spec.ts";

// The room's commands, one entry each, in the order /help lists them (grouped by what they act on): the terminal, the
// web room and a Telegram chat read and run them through `interpretCommand` (interpret-command.ts) and only render the
// answer. To add a command, add an entry to the group it belongs to: its name, its arguments' schema (over the words
// typed after the name), its help line, the front ends that offer it, and `run`.

/** `/models`: each persona's model, server and window, the routes, and what each server has. */
async function modelsAnswer(context: CommandContext, signal: AbortSignal): Promise<CommandAnswer> {
  const personas = context.personas().map(({ name, model, server }) => ({ name, model, server }));
  const windows = windowLines(await context.windows(signal));
  const routes = context.modelRoutes();
  const servers = await context.serverModels(signal);
  const lines = [
    ...personas.map((persona) => `${persona.name}: ${persona.model} on ${persona.server}`),
    ...windows.map((line) => line.trim()),
    ...(routes.length > 0 ? [`routed (models in org.config.json; /use wins for a persona): ${routes.join("; ")}`] : []),
    ...servers.map((server) =>
      "error" in server
        ? `${server.server}: cannot list models (${server.error})`
        : `${server.server} has: ${server.models.join(", ") || "(no models)"}`,
    ),
    "Switch one with /use PERSONA MODEL.",
  ];
  return answer("models", lines, { view: { kind: "models", personas, windows, routes, servers } });
}

/** A Telegram chat's own: its greeting, org's status, stopping what runs, the budget. */
function chatOwnCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "start",
      usage: "/start",
      summary: "say hello; show this chat's room session",
      menu: "Say hello; show this chat's room session",
      offeredIn: ["telegram"],
      args: none,
      async run(context) {
        const session = (await context.chat?.session()) ?? "";
        const lines = [
          "org is listening. Write to the room as you would in the terminal; replies stream here, and tools that ask first " +
            "show Approve and Deny.",
          `This chat is room session ${session}: resume it in a terminal with org chat --resume ${session}, or open it in the web room.`,
        ];
        // The chat draws the welcome with its list of commands (/help's).
        return answer("start", lines, { view: { kind: "welcome", session } });
      },
    }),
    defineCommand({
      name: "status",
      usage: "/status",
      summary: "instances, growth and the supervisor",
      menu: "Instances, growth and the supervisor",
      offeredIn: ["telegram"],
      args: none,
      async run(context, _args, signal) {
        const text = (await context.chat?.status(signal))?.trim() || "nothing to report";
        return answer("status", [text], { view: { kind: "report", title: "org status", text } });
      },
    }),
    defineCommand({
      name: "stop",
      usage: "/stop",
      summary: "stop the running replies and the messages waiting",
      menu: "Stop the running replies and the messages waiting",
      offeredIn: ["telegram"],
      args: none,
      async run(context) {
        const { turns, dropped } = (await context.chat?.stop()) ?? { turns: 0, dropped: 0 };
        if (turns === 0 && dropped === 0) return answer("stop", ["nothing was running."]);
        const waiting = dropped > 0 ? `; ${dropped} waiting message${dropped === 1 ? "" : "s"} will not run` : "";
        return answer("stop", [`stopped ${turns} running turn${turns === 1 ? "" : "s"}${waiting}.`]);
      },
    }),
    defineCommand({
      name: "budget",
      usage: "/budget",
      summary: "tokens used and left: this session, and today",
      menu: "Tokens used and left: this session, and today",
      offeredIn: ["telegram"],
      args: none,
      run: (context) => answer("budget", context.budget()),
    }),
  ];
}

/** Who hears you, which models answer, what they may call. */
function roomCommandsOfModes(): RoomCommand[] {
  return [
    defineCommand({
      name: "mode",
      usage: "/mode [group | direct:<persona> | file:<path>]",
      summary: "show or switch who hears you: everyone, one persona, or replies written to a file",
      menu: "Show or set the room's mode: /mode group, /mode direct:agent",
      offeredIn: [...CHAT, "web", "telegram"],
      args: () =>
        Words()
          .max(1, "takes one mode, e.g. /mode group, /mode direct:python or /mode file:notes.md")
          .refine(([mode]) => mode === undefined || MODE.test(mode), {
            error: (issue) => `'${Array.isArray(issue.input) ? issue.input[0] : ""}' is not a mode; use group, direct:<persona> or file:<path>`,
          })
          .transform(([mode]) => mode),
      run(context, mode) {
        if (mode === undefined) {
          const others = context.personas().map((persona) => `direct:${persona.name}`);
          return answer("mode", [`mode: ${context.mode()}  (others: group, ${others.join(", ")}, file:<path>)`]);
        }
        // The room announces the new mode itself (the same way as when a persona switches it).
        context.setMode(mode);
        return answer("mode", [`mode: ${context.mode()}`], { echoed: true });
      },
    }),
    defineCommand({
      name: "models",
      aliases: ["model"],
      usage: "/models",
      summary: "list each persona's model, server and window, and the models the servers have",
      menu: "Each persona's model and server, and the models the servers have",
      offeredIn: [...CHAT, "telegram"],
      args: none,
      run: (context, _args, signal) => modelsAnswer(context, signal),
    }),
    defineCommand({
      name: "use",
      usage: "/use <persona> <model>",
      summary: "switch a persona to another model (checked against its server's model list)",
      menu: "Switch a persona's model: /use agent qwen3:8b",
      offeredIn: [...CHAT, "telegram"],
      args: () => z.tuple([z.string(), z.string()], { error: "needs a persona and a model, e.g. /use agent qwen3:8b" }),
      async run(context, [persona, model], signal) {
        // The room announces the change itself (a "model" event).
        await context.useModel(persona, model, signal);
        return answer("use", [`${persona} now uses ${model}.`], { echoed: true });
      },
    }),
    defineCommand({
      name: "tools",
      usage: "/tools",
      summary: "list the tools each persona may call, and which ones ask you first",
      menu: "The personas and the tools each may use",
      offeredIn: [...CHAT, "telegram"],
      args: none,
      run(context) {
        const personas = context.personas();
        const lines = personas.map((persona) => {
          const tools = persona.tools.map((tool) => (tool.approval === "ask" ? `${tool.name} (asks first)` : tool.name));
          return `  ${persona.name}: ${tools.join(", ") || "no tools"}`;
        });
        return answer("tools", lines, { view: { kind: "tools", personas } });
      },
    }),
  ];
}

/** The conversation: what was said, forgetting it, writing it out. */
function conversationCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "history",
      usage: "/history [N]",
      summary: "show the last N messages of this session (default 20), with the tools each reply ran",
      offeredIn: CHAT,
      args: () => optionalCount("takes a positive number, e.g. /history 50"),
      run(context, count) {
        const lines = context.history?.(count ?? 20) ?? [];
        return answer("history", lines.length === 0 ? ["(no messages yet)"] : lines);
      },
    }),
    defineCommand({
      name: "clear",
      usage: "/clear",
      summary: "forget the conversation so far (the session file keeps it) and clear the screen",
      menu: "The personas forget this conversation (the transcript keeps it)",
      offeredIn: [...CHAT, "telegram"],
      args: none,
      run(context) {
        context.clear();
        const line = "cleared: the personas forget this conversation from here on (the session's transcript keeps it).";
        return answer("clear", [line], { effect: "cleared" });
      },
    }),
    defineCommand({
      name: "save",
      usage: "/save [file]",
      summary: `write the conversation as Markdown (default ${TRANSCRIPTS_DIR}/<session>.md)`,
      offeredIn: CHAT,
      args: () => optionalWord("takes one file name; quote nothing, spaces are not allowed"),
      refuse: (file, frontEnd) =>
        file === undefined
          ? undefined
          : roomOnly(frontEnd, "/save FILE writes wherever FILE says", `/save alone writes into ${TRANSCRIPTS_DIR}/, or type it in the room`),
      async run(context, file) {
        if (!context.save) throw new Error("this room cannot save its conversation");
        return answer("save", [`saved the conversation to ${await context.save(file)}`]);
      },
    }),
  ];
}

/** Memory: searching it, and answering what the observer learned about the person. */
function memoryCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "recall",
      aliases: ["memory"],
      usage: "/recall <words>",
      summary: "search the workspace's memory of past sessions and saved facts",
      menu: "Search the workspace's memory: /recall staging database",
      offeredIn: [...CHAT, "telegram"],
      args: () => text("needs words to look for, e.g. /recall staging database"),
      async run(context, query, signal) {
        if (!context.recall) return answer("recall", ["memory is off for this session (org said why when the room opened)."]);
        return answer("recall", [(await context.recall(query, signal)).trim() || "nothing found"]);
      },
    }),
    defineCommand({
      name: "facts",
      usage: "/facts [accept N | reject N]",
      summary: "list what the observer learned about you from your own words, waiting for you; accept or reject one",
      menu: "What the observer learned about you, waiting for you: /facts accept 1, /facts reject 2",
      offeredIn: [...CHAT, "web", "telegram"],
      args: () =>
        Words()
          .refine(
            (words) =>
              words.length === 0 ||
              (words.length === 1 && words[0] === "list") ||
              (words.length === 2 && (words[0] === "accept" || words[0] === "reject")),
            "takes nothing, or accept N or reject N (N from the list), e.g. /facts accept 1",
          )
          .transform((words) => words.join(" ")),
      refuse: (argument, frontEnd) =>
        argument.startsWith("accept ")
          ? roomOnly(frontEnd, "/facts accept puts words about you into every persona's prompt", "type it in the room")
          : undefined,
      run(context, argument) {
        if (!context.facts) return answer("facts", ["memory is off for this session (org said why when the room opened)."]);
        return answer("facts", [context.facts(argument)]);
      },
    }),
  ];
}

/** The workspace and growth: a change shown or taken back, a wish, the MCP servers. */
function workspaceCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "diff",
      usage: "/diff",
      summary: "show the diff of the newest change a command made to the workspace",
      offeredIn: [...CHAT, "web"],
      args: none,
      run: (context) => answer("diff", [context.diff()?.replace(/\n$/, "") ?? "(no workspace change in this session yet)"]),
    }),
    defineCommand({
      name: "undo",
      usage: "/undo [--force]",
      summary: "take back the newest applied workspace change (again: the one before); --force even over later edits",
      menu: "Undo the newest change to the workspace",
      offeredIn: [...CHAT, "web", "telegram"],
      args: () =>
        Words()
          .refine((words) => words.length === 0 || (words.length === 1 && words[0] === "--force"), "takes only --force, e.g. /undo --force")
          .transform((words) => words.length === 1),
      refuse: (force, frontEnd) =>
        !force
          ? undefined
          : frontEnd === "telegram"
            ? "/undo --force takes a change back over your later edits, so it is never run from Telegram: " +
              "run 'org undo --force', or type it in the room."
            : roomOnly(frontEnd, "/undo --force takes a change back over your later edits", "run 'org undo --force', or type it in the room"),
      run: (context, force) => answer("undo", [context.undo(force)]),
    }),
    defineCommand({
      name: "wish",
      usage: "/wish <words>",
      summary: "say what you wish the room could do; org grow reads it and may build a tool for it",
      menu: "Wish for what org cannot do yet: /wish a currency converter",
      offeredIn: [...CHAT, "web", "telegram"],
      args: () => text("needs words, e.g. /wish a tool that converts currencies"),
      run(context, wish) {
        context.wish(wish);
        return answer("wish", ["wished: org grow reads it from this session's transcript"], { echoed: true });
      },
    }),
    defineCommand({
      name: "mcp",
      usage: "/mcp [trust <server>]",
      summary: "list the MCP servers, their state and tools; trust <server> confirms one and starts it",
      menu: "The MCP servers and their state (confirming one is for the terminal)",
      offeredIn: [...CHAT, "telegram"],
      waitsForServers: true,
      args: () =>
        Words()
          .refine(
            (words) => words.length === 0 || (words.length === 2 && words[0] === "trust"),
            "takes nothing, or trust <server>, e.g. /mcp trust files",
          )
          .transform((words) => words[1]),
      refuse: (server, frontEnd) =>
        server === undefined
          ? undefined
          : frontEnd === "telegram"
            ? `/mcp trust is for the terminal: run 'org chat' there and type /mcp trust ${server}.`
            : roomOnly(
                frontEnd,
                "/mcp trust confirms an MCP server and starts it",
                `run 'org mcp trust ${server}' (it prints what it confirms), or type it in the room`,
              ),
      run(context, server) {
        const none = 'add them under "mcpServers" in org.config.json (see docs/mcp-servers.md)';
        // Confirming a server that is not there fails (exit 1 under --once); listing none is an answer.
        if (!context.mcp && server !== undefined) throw new Error(`there is no MCP server "${server}": none is configured; ${none}`);
        if (!context.mcp) return answer("mcp", [`no MCP servers: ${none}`]);
        if (server !== undefined) return answer("mcp", [context.mcp.trust(server)]);
        const lines = context.mcp.lines();
        return answer("mcp", lines.length > 0 ? lines : ["no MCP servers"]);
      },
    }),
  ];
}

/** A tool's whole output, and the personas' prompts: summarised now, shown part by part. */
function promptCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "output",
      usage: "/output [N]",
      summary: "show the whole output of the newest tool result, or of result N (its ✓ line names N)",
      offeredIn: [...CHAT, "web"],
      args: () => optionalCount("takes a result's number, e.g. /output 3 (its ✓ line names it)"),
      run: (context, number) => answer("output", [context.output(number)]),
    }),
    defineCommand({
      name: "compact",
      usage: "/compact [focus]",
      summary: "summarise each persona's earlier messages now (focus: what to keep above all); their prompts hold the summary",
      offeredIn: [...CHAT, "web"],
      args: () => Words().transform((words) => (words.length === 0 ? undefined : words.join(" "))),
      run: async (context, focus, signal) => answer("compact", await context.compact(focus, signal)),
    }),
    defineCommand({
      name: "context",
      usage: "/context [persona]",
      summary: "show what a persona's next prompt holds, part by part, in tokens, and its model's window",
      offeredIn: [...CHAT, "web"],
      args: () => optionalWord("takes one persona, e.g. /context agent"),
      run: async (context, persona, signal) => answer("context", await context.context(persona, signal)),
    }),
  ];
}

/** The list itself, and leaving. */
function leavingCommands(): RoomCommand[] {
  return [
    defineCommand({
      name: "help",
      aliases: ["?", "h"],
      usage: "/help",
      summary: "show this list",
      menu: "Show this list of commands",
      offeredIn: [...CHAT, "web", "telegram"],
      needsNoRoom: true,
      args: none,
      // The interpreter fills in the front end's list (commandHelp).
      run: () => answer("help", [], { view: { kind: "help" } }),
    }),
    defineCommand({
      name: "quit",
      aliases: ["exit", "q"],
      usage: "/quit",
      summary: "leave the room (Ctrl-D or Ctrl-C twice also do)",
      offeredIn: CHAT,
      args: none,
      refuse: (_args, frontEnd) =>
        frontEnd === "once" ? "/quit leaves the room; --once leaves by itself after its one line, so nothing was done." : undefined,
      run: () => answer("quit", [], { effect: "quit" }),
    }),
  ];
}

/** Every command, in the order /help lists them. */
function roomCommandList(): RoomCommand[] {
  return [
    ...chatOwnCommands(),
    ...roomCommandsOfModes(),
    ...conversationCommands(),
    ...memoryCommands(),
    ...workspaceCommands(),
    ...promptCommands(),
    ...leavingCommands(),
  ];
}

/** Every command of the room, in /help's order (made on first use: their schemas are zod's). */
export const roomCommands = onFirstUse(roomCommandList);
