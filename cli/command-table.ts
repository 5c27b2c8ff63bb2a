import type { Command } from "./command/command.ts";
import { COMMAND_NAMES, type CommandName, nameAndSummary } from "./command/command-summaries.ts";
import { sandboxCommandEntry } from "./sandbox-command-entry.ts";

/** A subcommand as `--help` lists it; its module (and all it imports) loads only when the command runs. */
export type CommandEntry = { name: string; summary: string; load: () => Promise<Command> };

const LOADERS: Record<CommandName, () => Promise<Command>> = {
  chat: async () => (await import("./chat/chat-command.ts")).chatCommand,
  demo: async () => (await import("./chat/demo-command.ts")).demoCommand,
  serve: async () => (await import("./serve/serve-command.ts")).serveCommand,
  sandbox: sandboxCommandEntry.load,
  "scripted-server": async () => (await import("./scripted-server-command.ts")).scriptedServerCommand,
  tool: async () => (await import("./tool/tool-command.ts")).toolCommand,
  workflow: async () => (await import("./workflow/workflow-command.ts")).workflowCommand,
  memory: async () => (await import("./memory-command.ts")).memoryCommand,
  instance: async () => (await import("./candidates/instance-command.ts")).instanceCommand,
  fitness: async () => (await import("./candidates/fitness-command.ts")).fitnessCommand,
  promote: async () => (await import("./candidates/promote-command.ts")).promoteCommand,
  rollback: async () => (await import("./candidates/rollback-command.ts")).rollbackCommand,
  mcp: async () => (await import("./mcp/mcp-command.ts")).mcpCommand,
  config: async () => (await import("./config/config-command.ts")).configCommand,
  init: async () => (await import("./config/init-command.ts")).initCommand,
  doctor: async () => (await import("./config/doctor-command.ts")).doctorCommand,
  candidate: async () => (await import("./candidates/candidate-command.ts")).candidateCommand,
  undo: async () => (await import("./undo-command.ts")).undoCommand,
  patch: async () => (await import("./patch-command.ts")).patchCommand,
  grow: async () => (await import("./grow/grow-command.ts")).growCommand,
  supervise: async () => (await import("./supervise-command.ts")).superviseCommand,
  schedule: async () => (await import("./schedule-command.ts")).scheduleCommand,
  backup: async () => (await import("./backup/backup-command.ts")).backupCommand,
  restore: async () => (await import("./backup/restore-command.ts")).restoreCommand,
  web: async () => (await import("./serve/web-command.ts")).webCommand,
  telegram: async () => (await import("./serve/telegram-command.ts")).telegramCommand,
  share: async () => (await import("./share/share-command.ts")).shareCommand,
};

// Every subcommand of main.ts, in the order `--help` lists them (cli/command/command-summaries.ts). The first is the
// default. The command it loads has the same name and summary (cli/main.test.ts checks).
export const commands: CommandEntry[] = COMMAND_NAMES.map((name) => ({ ...nameAndSummary(name), load: LOADERS[name] }));
