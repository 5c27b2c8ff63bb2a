import { UsageError } from "./command.ts";

/** `bun main.ts chat` options after parsing. */
export type ChatOptions = {
  config?: string;
  mode?: string;
  /** `true`: the newest session; a string: that session id. */
  resume?: string | true;
  once?: string;
  json: boolean;
  yes: boolean;
  workspace?: string;
};

const VALUE_FLAGS = new Set(["--config", "--mode", "--once", "--workspace"]);

/** Parses chat's flags; `--flag=value` and `--flag value` both work. Throws UsageError naming the problem. */
export function parseChatArgs(args: string[]): ChatOptions {
  const options: ChatOptions = { json: false, yes: false };
  const seen = new Set<string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const [flag = "", inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg];
    if (VALUE_FLAGS.has(flag)) {
      const value = inline ?? args[index + 1];
      if (inline === undefined) index += 1;
      if (value === undefined || (inline === undefined && value.startsWith("--"))) {
        throw new UsageError(`${flag} needs a value`, "chat");
      }
      if (seen.has(flag)) throw new UsageError(`${flag} is given twice; give it once`, "chat");
      seen.add(flag);
      if (flag === "--config") options.config = value;
      else if (flag === "--mode") options.mode = value;
      else if (flag === "--once") options.once = value;
      else options.workspace = value;
    } else if (flag === "--resume") {
      const next = args[index + 1];
      if (inline !== undefined) options.resume = inline;
      else if (next !== undefined && !next.startsWith("-")) {
        options.resume = next;
        index += 1;
      } else options.resume = true;
    } else if (flag === "--json" || flag === "--yes" || flag === "-y") {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`, "chat");
      if (flag === "--json") options.json = true;
      else options.yes = true;
    } else if (!arg.startsWith("-")) {
      throw new UsageError(`unexpected argument '${arg}': chat takes options only (to send one message, use --once "${arg}")`, "chat");
    } else {
      throw new UsageError(`unknown option '${arg}' for chat`, "chat");
    }
  }
  if (options.json && options.once === undefined) {
    throw new UsageError("--json goes with --once TEXT (one turn, one JSON event per line)", "chat");
  }
  if (options.once !== undefined && options.once.trim() === "") throw new UsageError("--once needs a non-empty message", "chat");
  return options;
}
