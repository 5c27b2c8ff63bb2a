import { expect, test } from "bun:test";
import { telegramCommands } from "../../telegram/chat-commands.ts";
import { telegramCommand } from "./telegram-command.ts";

test("org telegram --help names every command the bot registers in Telegram's menu", () => {
  const menu = telegramCommands().map(({ command }) => command);
  const named = menu.filter((command) => new RegExp(`^ +/${command}\\b`, "m").test(telegramCommand.help));
  expect(menu.length).toBeGreaterThan(10);
  expect(named).toEqual(menu);
});
