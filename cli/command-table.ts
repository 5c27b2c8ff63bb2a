import type { Command } from "./command/command.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { sandboxCommandEntry } from "./sandbox-command-entry.ts";

/** A subcommand as `--help` lists it; its module (and all it imports) loads only when the command runs. */
export type CommandEntry = { name: string; summary: string; load: () => Promise<Command> };

// Every subcommand of main.ts, in the order `--help` lists them. The first is the default. The command it loads has the
// same name and summary (cli/main.test.ts checks).
export const commands: CommandEntry[] = [
  { ...nameAndSummary("chat"), load: async () => (await import("./chat/chat-command.ts")).chatCommand },
  { ...nameAndSummary("demo"), load: async () => (await import("./chat/demo-command.ts")).demoCommand },
  { ...nameAndSummary("serve"), load: async () => (await import("./serve/serve-command.ts")).serveCommand },
  sandboxCommandEntry,
  { ...nameAndSummary("scripted-server"), load: async () => (await import("./scripted-server-command.ts")).scriptedServerCommand },
  { ...nameAndSummary("tool"), load: async () => (await import("./tool/tool-command.ts")).toolCommand },
  { ...nameAndSummary("workflow"), load: async () => (await import("./workflow/workflow-command.ts")).workflowCommand },
  { ...nameAndSummary("memory"), load: async () => (await import("./memory-command.ts")).memoryCommand },
  { ...nameAndSummary("instance"), load: async () => (await import("./candidates/instance-command.ts")).instanceCommand },
  { ...nameAndSummary("fitness"), load: async () => (await import("./candidates/fitness-command.ts")).fitnessCommand },
  { ...nameAndSummary("promote"), load: async () => (await import("./candidates/promote-command.ts")).promoteCommand },
  { ...nameAndSummary("rollback"), load: async () => (await import("./candidates/rollback-command.ts")).rollbackCommand },
  { ...nameAndSummary("mcp"), load: async () => (await import("./mcp/mcp-command.ts")).mcpCommand },
  { ...nameAndSummary("config"), load: async () => (await import("./config/config-command.ts")).configCommand },
  { ...nameAndSummary("init"), load: async () => (await import("./config/init-command.ts")).initCommand },
  { ...nameAndSummary("doctor"), load: async () => (await import("./config/doctor-command.ts")).doctorCommand },
  { ...nameAndSummary("candidate"), load: async () => (await import("./candidates/candidate-command.ts")).candidateCommand },
  { ...nameAndSummary("undo"), load: async () => (await import("./undo-command.ts")).undoCommand },
  { ...nameAndSummary("patch"), load: async () => (await import("./patch-command.ts")).patchCommand },
  { ...nameAndSummary("grow"), load: async () => (await import("./grow/grow-command.ts")).growCommand },
  { ...nameAndSummary("supervise"), load: async () => (await import("./supervise-command.ts")).superviseCommand },
  { ...nameAndSummary("backup"), load: async () => (await import("./backup/backup-command.ts")).backupCommand },
  { ...nameAndSummary("restore"), load: async () => (await import("./backup/restore-command.ts")).restoreCommand },
  { ...nameAndSummary("web"), load: async () => (await import("./serve/web-command.ts")).webCommand },
  { ...nameAndSummary("telegram"), load: async () => (await import("./serve/telegram-command.ts")).telegramCommand },
];
