import type { Command } from "./command.ts";

/** A subcommand as `--help` lists it; its module (and all it imports) loads only when the command runs. */
export type CommandEntry = { name: string; summary: string; load: () => Promise<Command> };

// Every subcommand of main.ts, in the order `--help` lists them. The first is the default. Each summary must match the
// `summary` of the command it loads (cli/main.test.ts checks).
export const commands: CommandEntry[] = [
  {
    name: "chat",
    summary: "the chat room in this terminal (default); --once TEXT [--json] for one turn",
    load: async () => (await import("./chat-command.ts")).chatCommand,
  },
  {
    name: "demo",
    summary: "watch a scripted session: three personas, sandboxed tools, direct mode, the toolsmith (no model needed)",
    load: async () => (await import("./demo-command.ts")).demoCommand,
  },
  {
    name: "serve",
    summary: "the room and its tools over HTTP (health, SSE messages, tools, metrics)",
    load: async () => (await import("./serve-command.ts")).serveCommand,
  },
  {
    name: "sandbox",
    summary: "try the tool sandbox: run a command in it, or check that it works here",
    load: async () => (await import("./sandbox-command.ts")).sandboxCommand,
  },
  {
    name: "scripted-server",
    summary: "run a scripted OpenAI-compatible model server (for tests and the demo)",
    load: async () => (await import("./scripted-server-command.ts")).scriptedServerCommand,
  },
  { name: "tool", summary: "make, list, show and run generated tools (tool new --goal …)", load: async () => (await import("./tool-command.ts")).toolCommand },
  {
    name: "workflow",
    summary: "run a JSON workflow that chains generated tools, or check one without running it",
    load: async () => (await import("./workflow-command.ts")).workflowCommand,
  },
  {
    name: "memory",
    summary: "search the workspace's memory of past sessions and saved facts; forget; rebuild",
    load: async () => (await import("./memory-command.ts")).memoryCommand,
  },
  {
    name: "instance",
    summary: "the current checkout and a candidate branch side by side in tmux (start, stop, status)",
    load: async () => (await import("./instance-command.ts")).instanceCommand,
  },
  {
    name: "fitness",
    summary: "judge the running candidate's exact commit against current (the fitness gate)",
    load: async () => (await import("./fitness-command.ts")).fitnessCommand,
  },
  {
    name: "promote",
    summary: "merge a candidate that passed the fitness gate into main, restart current, roll back if unhealthy",
    load: async () => (await import("./promote-command.ts")).promoteCommand,
  },
  {
    name: "rollback",
    summary: "revert the last promotion on main (or a named one), restart current and check its health",
    load: async () => (await import("./rollback-command.ts")).rollbackCommand,
  },
  {
    name: "mcp",
    summary: "the generated tools and workflows as an MCP server on stdio (for MCP clients)",
    load: async () => (await import("./mcp-command.ts")).mcpCommand,
  },
  {
    name: "init",
    summary: "write a commented org.config.json for this workspace (--model M, --force)",
    load: async () => (await import("./init-command.ts")).initCommand,
  },
  {
    name: "doctor",
    summary: "check the model server, models, sandbox, tmux, git, checkout and disk, each with a fix",
    load: async () => (await import("./doctor-command.ts")).doctorCommand,
  },
  {
    name: "candidate",
    summary: "list, rebase and prune the toolsmith's cand/* branches",
    load: async () => (await import("./candidate-command.ts")).candidateCommand,
  },
];
