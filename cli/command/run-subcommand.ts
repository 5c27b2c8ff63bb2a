import { type Command, UsageError } from "./command.ts";

/** One subcommand: runs with the words after its name; resolves to the exit code. */
export type Subcommand = (args: string[], signal: AbortSignal) => Promise<number>;

/**
 * The `run` of a command made of subcommands: its first word names one, which runs with the words after it. The
 * name is looked up as an own key, so `toString` names nothing. No word, or one that names none, is a UsageError
 * whose message `unknown` words (main adds the command's `--help` hint).
 */
export function runSubcommand(
  command: string,
  subcommands: Record<string, Subcommand>,
  unknown: (word: string | undefined) => string,
): Command["run"] {
  return async (args, signal) => {
    const [word, ...rest] = args;
    const subcommand = word !== undefined && Object.hasOwn(subcommands, word) ? subcommands[word] : undefined;
    if (!subcommand) throw new UsageError(unknown(word), command);
    return subcommand(rest, signal);
  };
}
