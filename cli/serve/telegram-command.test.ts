import { expect, test } from "bun:test";
import { TELEGRAM_COMMANDS } from "../../telegram/chat-commands.ts";
import { telegramCommand } from "./telegram-command.ts";

test("org telegram --help names every command the bot registers in Telegram's menu", () => {
  const named = TELEGRAM_COMMANDS.filter(({ command }) => new RegExp(`^ +/${command} |  /${command} `, "m").test(telegramCommand.help));
  expect(named.map(({ command }) => command)).toEqual(TELEGRAM_COMMANDS.map(({ command }) => command));
});
