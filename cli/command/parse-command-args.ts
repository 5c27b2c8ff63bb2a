import { UsageError } from "./command.ts";

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

type Token = { kind: "option"; name: string; rawName: string; value?: string; inlineValue: boolean } | { kind: "positional"; value: string };

/**
 * The words as `node:util` parseArgs (strict) splits them, in order: `--name`, `--name=value`, `-n`, a group `-nq`, `-mVALUE`
 * and everything after `--` as positionals. A string flag takes the next word whatever it is (checked afterwards). Written
 * here since loading `node:util` costs every org command about as much as the rest of its argument handling.
 */
function tokens(args: readonly string[], flags: Record<string, FlagSpec>): Token[] {
  const longFor = (short: string) => Object.keys(flags).find((name) => flags[name]?.short === short) ?? short;
  const typeOf = (name: string) => (Object.hasOwn(flags, name) ? flags[name]?.type : undefined);
  const words = [...args];
  const found: Token[] = [];
  for (let word = words.shift(); word !== undefined; word = words.shift()) {
    if (word === "--") {
      for (const value of words) found.push({ kind: "positional", value });
      break;
    }
    const short = word.length >= 2 && word[0] === "-" && word[1] !== "-" ? longFor(word[1] ?? "") : undefined;
    if (short !== undefined && word.length === 2) {
      const value = typeOf(short) === "string" ? words.shift() : undefined;
      found.push({ kind: "option", name: short, rawName: word, ...(value === undefined ? {} : { value }), inlineValue: false });
    } else if (short !== undefined && typeOf(short) !== "string") {
      // A group: each letter a flag, until a string flag takes the rest as its value.
      const expanded: string[] = [];
      for (let index = 1; index < word.length; index += 1) {
        const letter = word[index] ?? "";
        if (typeOf(longFor(letter)) !== "string" || index === word.length - 1) expanded.push(`-${letter}`);
        else {
          expanded.push(`-${word.slice(index)}`);
          break;
        }
      }
      words.unshift(...expanded);
    } else if (short !== undefined) {
      found.push({ kind: "option", name: short, rawName: `-${word[1]}`, value: word.slice(2), inlineValue: true });
    } else if (word.length > 2 && word.startsWith("--")) {
      const equals = word.indexOf("=", 3);
      if (equals === -1) {
        const name = word.slice(2);
        const value = typeOf(name) === "string" ? words.shift() : undefined;
        found.push({ kind: "option", name, rawName: word, ...(value === undefined ? {} : { value }), inlineValue: false });
      } else {
        found.push({ kind: "option", name: word.slice(2, equals), rawName: word.slice(0, equals), value: word.slice(equals + 1), inlineValue: true });
      }
    } else {
      found.push({ kind: "positional", value: word });
    }
  }
  return found;
}

/**
 * Parses a command's words as `node:util` parseArgs (strict) would: `--flag value`, `--flag=value`, `-y`.
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

  // First what parseArgs refuses, in the words' order; then a value given twice or empty.
  const positionals: string[] = [];
  const options: (Token & { kind: "option" })[] = [];
  for (const token of tokens(own, flags)) {
    if (token.kind === "positional") {
      if (!accepts.positionals) throw usage(`unexpected argument '${token.value}' for ${command}: it takes options only`);
      positionals.push(token.value);
      continue;
    }
    const spec = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (spec === undefined) throw usage(`unknown option '${token.rawName}' for ${command}`);
    if (spec.type === "boolean" && token.value !== undefined) throw usage(`--${token.name} takes no value`);
    if (spec.type === "string" && token.value === undefined) throw usage(`--${token.name} needs a value`);
    if (!token.inlineValue && token.value !== undefined && token.value.length > 1 && token.value.startsWith("-")) {
      throw usage(`${token.rawName} needs a value (to give one that starts with '-', write --${token.name}=VALUE)`);
    }
    options.push(token);
  }
  const values: Record<string, string | boolean | string[]> = {};
  for (const { name, value } of options) {
    const spec = flags[name];
    if (value === undefined || spec?.type === "boolean") {
      values[name] = true;
      continue;
    }
    if ((values[name] !== undefined && !spec?.multiple) || bare.has(name)) throw usage(`--${name} is given twice; give it once`);
    if (value === "") throw usage(`--${name} needs a value`);
    const earlier = values[name];
    values[name] = spec?.multiple ? [...(Array.isArray(earlier) ? earlier : []), value] : value;
  }
  for (const name of bare) values[name] = true;
  return { values: values as FlagValues<Specs>, positionals, ...(rest ? { rest } : {}) };
}
