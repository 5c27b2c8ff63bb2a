// How a sandbox started ahead of need (`sandbox-pool.ts`) is handed its command: one line on its stdin.
//
// The sandbox's command is `dash -c WAITER_SCRIPT`. It reads exactly one line (dash's `read` takes a pipe one
// byte at a time, so nothing past the newline is consumed) and `eval`s it. The line is always
// `exec 0</dev/null /usr/bin/env -i <the environment> /usr/bin/prlimit <limits> -- 'arg0' 'arg1' …`, every word
// single-quoted, so nothing in an argument is expanded, split or globbed. A newline inside an argument cannot
// sit in one line, so it is written as `'"$NL"'` (closing the quote, a double-quoted variable holding a
// newline, reopening it). `env -i` hands the command the environment a fresh sandbox gives, in the same order
// (dash would export its variables in an order of its own); prlimit then runs exactly as in a fresh sandbox,
// so its limits, its error messages and its exit codes are the same.
import { commandEnvironment, SCRATCH_MOUNT } from "./bwrap-argv.ts";

/** Where dash lives, in the host's /usr that every sandbox mounts read-only. */
export const WAITER_SHELL = "/usr/bin/dash";

/** The waiting sandbox's script: read one line, or end if org closed the pipe without one; run the line. */
export const WAITER_SCRIPT = ["NL='", "'", "IFS= read -r line || exit 125", 'eval "$line"'].join("\n");

/**
 * Longest line handed over. dash reads it one byte (one system call) at a time: a longer command starts a
 * fresh sandbox instead, which costs less than that.
 */
export const MAX_HAND_OVER_BYTES = 8192;

/** One word for a POSIX shell's `eval`, taken literally whatever it holds; newlines via `$NL` (see above). */
export function quoteWord(word: string): string {
  return word
    .split("\n")
    .map((part) => `'${part.replaceAll("'", "'\\''")}'`)
    .join('"$NL"');
}

/** `env -i` and the environment a fresh sandbox's command gets (no extra variables), PWD last as bwrap sets it. */
export function environmentCommand(workingDir: string = SCRATCH_MOUNT): string[] {
  const variables = { ...commandEnvironment({}), PWD: workingDir };
  return ["/usr/bin/env", "-i", ...Object.entries(variables).map(([name, value]) => `${name}=${value}`)];
}

/**
 * The line that makes the waiting shell run `command` (prlimit and the argv) as a fresh sandbox would, stdin on
 * /dev/null; undefined when it cannot be handed over faithfully: a NUL (no argv holds one; a fresh spawn refuses
 * it as before), text that is not well-formed UTF-16 (its bytes could differ), or a line too long.
 */
export function handOverLine(command: readonly string[], workingDir: string = SCRATCH_MOUNT): string | undefined {
  if (command.some((word) => word.includes("\0") || !word.isWellFormed())) return undefined;
  const line = `exec 0</dev/null ${[...environmentCommand(workingDir), ...command].map(quoteWord).join(" ")}\n`;
  return Buffer.byteLength(line) <= MAX_HAND_OVER_BYTES ? line : undefined;
}
