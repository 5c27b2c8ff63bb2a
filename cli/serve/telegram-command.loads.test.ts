import { expect, test } from "bun:test";
import { modulesLoadedBy } from "../../testing/loaded-modules.ts";

// `org telegram` loaded the readers /status uses (grow's, the supervisor's with every check of its round, the backups',
// the instances') at every start, for a command a chat may never send: they load on the first /status. `--help` loads
// the command's module and all it imports, as a start does before the bot's first poll.
test("org telegram's code loads none of /status's readers until a chat asks for it", async () => {
  const { stdout, exitCode, modules } = await modulesLoadedBy(["telegram", "--help"]);
  expect(exitCode).toBe(0);
  expect(stdout).toContain("Usage: org telegram");
  expect(modules).toContain("cli/serve/telegram-bot.ts");
  const status = (path: string) => /^(grow|supervise|backup|instances)\//.test(path) || path === "cli/serve/org-status-text.ts";
  expect(modules.filter(status)).toEqual([]);
}, 60_000);
