import type { z } from "zod";
import type { ServerModels } from "./room.ts";
import type { CommandContext, PersonaSummary } from "./command-context.ts";

/**
 * Where a line was typed: the room in a terminal, the room whose input is a pipe or a script, `org chat --once`, the
 * web room, a Telegram chat. A command lists the front ends that offer it, and may refuse some of its uses in some.
 */
export type FrontEnd = "terminal" | "piped" | "once" | "web" | "telegram";

/** A view a front end may draw its own way; `lines` of the answer always say the same in plain text. */
export type CommandView =
  | { kind: "models"; personas: Array<{ name: string; model: string; server: string }>; windows: string[]; routes: string[]; servers: ServerModels[] }
  | { kind: "tools"; personas: PersonaSummary[] }
  | { kind: "welcome"; session: string }
  | { kind: "help" }
  | { kind: "report"; title: string; text: string };

/** What a command answers: the lines to say, whether it did what it was asked, and what the front end does beside. */
export type CommandAnswer = {
  /** The command's name (the word typed, for an unknown one). */
  command: string;
  /** false: typed wrong, refused here, or it could not do what it was asked (its lines say why). */
  ok: boolean;
  lines: string[];
  /** The room's stream says these lines too (a mode, a model, a wish): a front end that shows the stream need not. */
  echoed?: true;
  /** `quit`: leave the room; `cleared`: the room forgot its messages (a terminal clears its screen). */
  effect?: "quit" | "cleared";
  view?: CommandView;
};

/** A line read: a message for the room, nothing, a command ready to run, or an answer already (typed wrong, refused). */
export type ReadLine =
  | { type: "message"; text: string }
  | { type: "empty" }
  | { type: "command"; command: ReadCommand }
  | { type: "answer"; answer: CommandAnswer };

/** A command whose arguments were read and checked (`args`, as read); `run` runs it with them. */
export type ReadCommand = {
  name: string;
  args: unknown;
  entry: RoomCommand;
  /** `context` is undefined only for a command that `needsNoRoom`. */
  run(context: CommandContext | undefined, signal: AbortSignal): Promise<CommandAnswer> | CommandAnswer;
};

/** One entry of the list, as the interpreter holds it: its arguments' type stays inside `read` (`defineCommand`). */
export type RoomCommand = {
  name: string;
  aliases: readonly string[];
  /** `/mode [group | direct:<persona> | file:<path>]`: what /help shows, and what a mistake is told. */
  usage: string;
  /** The help line. */
  summary: string;
  /** Telegram's menu line (setMyCommands) for the commands a chat offers. */
  menu?: string;
  offeredIn: readonly FrontEnd[];
  /** Its arguments read from the words after its name, and why `frontEnd` refuses this use (the whole line to say). */
  read(words: string[], frontEnd: FrontEnd): { ok: true; refused: string | undefined; command: ReadCommand } | { ok: false; problem: string };
  /** Needs the MCP servers' first start to have ended (`org chat --once /mcp` shows them as it left them). */
  waitsForServers?: true;
  /** Needs no session: `org chat --once /help` opens none. */
  needsNoRoom?: true;
};

/** A command as written in the list: its arguments' schema declared once, over the words typed after its name. */
export type CommandSpec<Args> = Omit<RoomCommand, "aliases" | "read"> & {
  aliases?: readonly string[];
  args: () => z.ZodType<Args, string[]>;
  refuse?(args: Args, frontEnd: FrontEnd): string | undefined;
  run(context: CommandContext, args: Args, signal: AbortSignal): Promise<CommandAnswer> | CommandAnswer;
};

/** An entry of the list: the schema's first issue is the problem said ("takes one persona, e.g. /context agent"). */
export function defineCommand<Args>(spec: CommandSpec<Args>): RoomCommand {
  const { args, refuse, run, ...rest } = spec;
  const entry: RoomCommand = {
    ...rest,
    aliases: spec.aliases ?? [],
    read(words, frontEnd) {
      const parsed = args().safeParse(words);
      if (!parsed.success) return { ok: false, problem: parsed.error.issues[0]?.message ?? "is typed wrong" };
      const values = parsed.data;
      const runWith = (context: CommandContext | undefined, signal: AbortSignal) => {
        if (context === undefined && !spec.needsNoRoom) throw new Error(`/${spec.name} needs the session's room`);
        // A command that needsNoRoom reads nothing of it.
        return run(context ?? NO_ROOM, values, signal);
      };
      return { ok: true, refused: refuse?.(values, frontEnd), command: { name: spec.name, args: values, entry, run: runWith } };
    },
  };
  return entry;
}
/** What a command that needs no room is handed: nothing of a room. */
const NO_ROOM = Object.freeze({}) as CommandContext;

/** An answer that did what it was asked, saying `lines`. */
export function answer(command: string, lines: string[], more: Partial<CommandAnswer> = {}): CommandAnswer {
  return { command, ok: true, lines, ...more };
}
