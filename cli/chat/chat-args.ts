import { UsageError } from "../command/command.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";

/** `org chat` options after parsing. */
export type ChatOptions = {
  config?: string;
  mode?: string;
  /** `true`: the newest session; a string: that session id. */
  resume?: string | true;
  once?: string;
  json: boolean;
  yes: boolean;
  workspace?: string;
  /** Every persona's model unless the config names one (like OLLAMA_MODEL, but for this run). */
  model?: string;
};

const CHAT_FLAGS = {
  config: { type: "string" },
  mode: { type: "string" },
  resume: { type: "string", valueOptional: true },
  once: { type: "string" },
  json: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  workspace: { type: "string" },
  model: { type: "string", short: "m" },
} as const;

/** Parses chat's flags; `--flag=value` and `--flag value` both work. Throws UsageError naming the problem. */
export function parseChatArgs(args: string[]): ChatOptions {
  const { values, positionals } = parseCommandArgs("chat", args, CHAT_FLAGS, { positionals: true });
  const [stray] = positionals;
  if (stray !== undefined) {
    throw new UsageError(`unexpected argument '${stray}': chat takes options only (to send one message, use --once "${stray}")`, "chat");
  }
  const { json = false, yes = false, ...given } = values;
  const options: ChatOptions = { ...given, json, yes };
  if (options.json && options.once === undefined) {
    throw new UsageError("--json goes with --once TEXT (one turn, one JSON event per line)", "chat");
  }
  if (options.once !== undefined && options.once.trim() === "") throw new UsageError("--once needs a non-empty message", "chat");
  if (options.model !== undefined && options.model.trim() === "") throw new UsageError("--model needs a model name, e.g. --model qwen3:8b", "chat");
  return options;
}
