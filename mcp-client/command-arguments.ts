import { existsSync, statSync } from "node:fs";
import { type LaunchPlace, toHost } from "./launch-place.ts";

// Flags whose value is the next argument (a file to load, a setting), not the script.
const VALUE_FLAGS = new Set([
  "-r",
  "--require",
  "--import",
  "--loader",
  "--experimental-loader",
  "--preload",
  "-C",
  "--conditions",
  "--config",
  "-W",
  "-X",
  "--cwd",
]);

/** Code given on the command line: no script follows. */
export const INLINE_CODE = new Set(["-e", "--eval", "-p", "--print", "-c"]);

/** A runner's flags whose value names the package it runs (`npx -p`, `uvx --from`). */
export const PACKAGE_FLAGS = new Set(["-p", "--package", "--from", "--with"]);

/** A file name of code: what an argument naming it may load. */
export const CODE_FILE = /\.(c?js|mjs|c?ts|mts|jsx|tsx|py[cw]?|sh|bash|rb|pl|php|lua|jar|so)$/;

/** The index of the first argument at or after `from` that is not a flag (nor a flag's value), if any. */
export function firstPositional(args: readonly string[], from = 0): number | undefined {
  for (let index = from; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    if (arg === "--") return index + 1 < args.length ? index + 1 : undefined;
    if (VALUE_FLAGS.has(arg) || PACKAGE_FLAGS.has(arg)) index += 1;
    else if (!arg.startsWith("-")) return index;
  }
  return undefined;
}

/** The string a shell runs with `-c` (or `-ec`, `-lc`, …): the first argument after its flags. */
export function shellString(args: readonly string[]): string | undefined {
  const flag = args.findIndex((arg) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(arg));
  if (flag === -1) return undefined;
  return args.slice(flag + 1).find((arg) => !arg.startsWith("-"));
}

/** Whether `bun run X` (or `bun X`) names a file rather than a script: X has a path or a code file's name. */
export function isFileArgument(args: readonly string[], at: number | undefined, place: LaunchPlace): boolean {
  const word = at === undefined ? undefined : args[at] === "run" ? args[firstPositional(args, at + 1) ?? -1] : args[at];
  if (word === undefined) return false;
  return word.includes("/") || CODE_FILE.test(word) || (existsSync(toHost(place, word)) && !statSync(toHost(place, word)).isDirectory());
}
