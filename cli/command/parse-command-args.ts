import { parseArgs } from "node:util";
import { UsageError } from "./command.ts";
import { errorCode } from "../../concurrency/error-code.ts";

/** One flag of a command: `--name VALUE` (string) or `--name` (boolean); `valueOptional` lets `--name` stand alone. */
export type FlagSpec = {
  type: "string" | "boolean";
  /** A one-letter alias: `-y` for `--yes`. */
  short?: string;
  /** `--name` without a value is allowed too; its value is then `true`. Only for string flags. */
  valueOptional?: boolean;
  /** The flag may be given more than once; its value is the list, in order. Only for string flags. */
  multiple?: boolean;
};

type FlagValue<Spec extends FlagSpec> = Spec["type"] extends "boolean"
  ? boolean
  : Spec extends { multiple: true }
    ? string[]
    : Spec extends { valueOptional: true }
      ? string | true
      : string;

/** The flags given, by name; a flag not given is absent. */
export type FlagValues<Specs extends Record<string, FlagSpec>> = { [Name in keyof Specs]?: FlagValue<Specs[Name]> };

export type ParsedCommandArgs<Specs extends Record<string, FlagSpec>> = {
  values: FlagValues<Specs>;
  /** Words that are not flags (only when the command takes them). */
  positionals: string[];
  /** Everything after `--`, untouched (only when the command takes it); undefined when there is no `--`. */
  rest?: string[];
};

/** The first flag a parseArgs error message quotes, spelled as the user would type it. */
function flagIn(message: string): string {
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const long = /--[\w-]+/.exec(quoted)?.[0];
  if (long) return long;
  const first = quoted.split(/[ ,]/)[0] ?? "";
  return first.startsWith("-") ? first : `-${first}`;
}

/**
 * Parses a command's words with `node:util` parseArgs (strict): `--flag value`, `--flag=value`, `-y`.
 * An unknown flag, a missing or empty value, a value given to a boolean flag, a flag given twice, or a stray
 * word throws a UsageError that names it; main adds the command's `--help` hint.
 * `command` is what the messages call it (`"sandbox run"`); its first word is the command whose help is meant.
 */
export function parseCommandArgs<const Specs extends Record<string, FlagSpec>>(
  command: string,
  args: readonly string[],
  flags: Specs,
  accepts: { positionals?: boolean; rest?: boolean } = {},
): ParsedCommandArgs<Specs> {
  const usage = (message: string) => new UsageError(message, command.split(" ")[0]);
  const separator = accepts.rest ? args.indexOf("--") : -1;
  const own = separator === -1 ? [...args] : args.slice(0, separator);
  const rest = separator === -1 ? undefined : args.slice(separator + 1);

  // parseArgs has no optional values: a bare `--resume` (nothing after it, or another flag) is taken out here.
  const bare = new Set<string>();
  for (const [name, spec] of Object.entries(flags)) {
    if (!spec.valueOptional) continue;
    const spellings = [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])];
    for (let index = own.length - 1; index >= 0; index -= 1) {
      const word = own[index];
      const next = own[index + 1];
      if (word !== undefined && spellings.includes(word) && (next === undefined || next.startsWith("-"))) {
        if (bare.has(name)) throw usage(`--${name} is given twice; give it once`);
        bare.add(name);
        own.splice(index, 1);
      }
    }
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: own,
      options: Object.fromEntries(
        Object.entries(flags).map(([name, spec]) => [
          name,
          { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: accepts.positionals ?? false,
      tokens: true,
    });
  } catch (error) {
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : String(error);
    const flag = flagIn(message);
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw usage(`unknown option '${flag}' for ${command}`);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw usage(`unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? ""}' for ${command}: it takes options only`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      if (/does not take an argument/.test(message)) throw usage(`${flag} takes no value`);
      if (/ambiguous/.test(message)) throw usage(`${flag} needs a value (to give one that starts with '-', write ${flag}=VALUE)`);
      throw usage(`${flag} needs a value`);
    }
    throw error;
  }

  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== "option") continue;
    if (flags[token.name]?.type === "string") {
      if ((seen.has(token.name) && !flags[token.name]?.multiple) || bare.has(token.name)) throw usage(`--${token.name} is given twice; give it once`);
      if (token.value === "") throw usage(`--${token.name} needs a value`);
    }
    seen.add(token.name);
  }
  const values: Record<string, string | boolean | string[]> = { ...(parsed.values as Record<string, string | boolean | string[]>) };
  for (const name of bare) values[name] = true;
  return { values: values as FlagValues<Specs>, positionals: parsed.positionals, ...(rest ? { rest } : {}) };
}
