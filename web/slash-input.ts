/** What the web room's message box holds: a message for the room, or one of the terminal's slash commands. */
export type WebInput =
  | { type: "message"; text: string }
  | { type: "empty" }
  | { type: "mode"; mode?: string }
  | { type: "wish"; text: string }
  | { type: "undo"; force: boolean }
  | { type: "diff" }
  | { type: "output"; number?: number }
  | { type: "compact"; focus?: string }
  | { type: "context"; persona?: string }
  | { type: "facts"; argument: string }
  | { type: "invalid"; message: string };

const MODE = /^(group|direct:\S+|file:\S+)$/;

/**
 * A line of the message box read as the terminal reads it (`cli/chat/slash-commands.ts`): `/mode [m]`, `/wish TEXT`,
 * `/undo [--force]`, `/diff`, `/output [N]`, `/compact [focus]`, `/context [persona]`, `/facts [accept N | reject N]`;
 * `//text` is a message that starts with `/`; any other `/word` is refused with the commands the page knows.
 */
export function parseWebInput(line: string): WebInput {
  const text = line.trim();
  if (text === "") return { type: "empty" };
  if (!text.startsWith("/") || text.startsWith("//")) return { type: "message", text: text.startsWith("//") ? text.slice(1) : line };
  const [name = "", ...args] = text.slice(1).split(/\s+/);
  switch (name) {
    case "mode":
      if (args.length === 0) return { type: "mode" };
      return args.length === 1 && MODE.test(args[0] ?? "")
        ? { type: "mode", mode: args[0] ?? "" }
        : { type: "invalid", message: "/mode takes one mode: group, direct:<persona> or file:<path>" };
    case "wish": {
      const wish = text.slice("/wish".length).trim();
      return wish
        ? { type: "wish", text: wish }
        : { type: "invalid", message: "/wish needs what you wish the room could do, e.g. /wish convert CSV to JSON" };
    }
    case "undo":
      if (args.length === 0 || (args.length === 1 && args[0] === "--force")) return { type: "undo", force: args.length === 1 };
      return { type: "invalid", message: "/undo takes nothing, or --force" };
    case "diff":
      return args.length === 0 ? { type: "diff" } : { type: "invalid", message: "/diff takes no arguments" };
    case "output": {
      if (args.length === 0) return { type: "output" };
      const number = Number(args[0]);
      return args.length === 1 && Number.isInteger(number) && number > 0
        ? { type: "output", number }
        : { type: "invalid", message: "/output takes nothing, or a result's number, e.g. /output 2" };
    }
    case "compact": {
      const focus = text.slice("/compact".length).trim();
      return focus ? { type: "compact", focus } : { type: "compact" };
    }
    case "facts":
      return { type: "facts", argument: args.join(" ") };
    case "context":
      if (args.length > 1) return { type: "invalid", message: "/context takes one persona, e.g. /context agent" };
      return args[0] ? { type: "context", persona: args[0] } : { type: "context" };
    default:
      return {
        type: "invalid",
        message: `/${name.slice(0, 40)} is not a command here; the web room knows /mode, /wish, /undo, /diff, /output, /compact, /context and /facts`,
      };
  }
}
