import type { CommandEntry } from "./command-table.ts";
import { nameAndSummary } from "./command/command-summaries.ts";

/** `org sandbox` as the command table lists it, in a file of its own: cli/sandbox-main.ts runs it without the table. */
export const sandboxCommandEntry: CommandEntry = {
  ...nameAndSummary("sandbox"),
  load: async () => (await import("./sandbox-command.ts")).sandboxCommand,
};
