import { expect, test } from "bun:test";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { UsageError } from "./command.ts";
import { parseCommandArgs } from "./parse-command-args.ts";

const FLAGS = {
  name: { type: "string" },
  since: { type: "string", valueOptional: true },
  dry: { type: "boolean", short: "n" },
} as const;

const parse = (args: string[], accepts?: { positionals?: boolean; rest?: boolean }) => parseCommandArgs("tool run", args, FLAGS, accepts);

test("both spellings of a value, short flags, and an optional value", () => {
  expect(parse(["--name", "a", "-n"]).values).toEqual({ name: "a", dry: true });
  expect(parse(["--name=a=b"]).values).toEqual({ name: "a=b" });
  expect(parse(["--since"]).values).toEqual({ since: true });
  expect(parse(["--since", "--dry"]).values).toEqual({ since: true, dry: true });
  expect(parse(["--since", "yesterday"]).values).toEqual({ since: "yesterday" });
  expect(parse(["--since=-1d"]).values).toEqual({ since: "-1d" });
  expect(parse([]).values).toEqual({});
});

test("words after -- are handed over untouched, flags and all", () => {
  expect(parse(["--dry", "--", "grep", "--name", "x"], { rest: true })).toEqual({
    values: { dry: true },
    positionals: [],
    rest: ["grep", "--name", "x"],
  });
  expect(parse(["--dry"], { rest: true }).rest).toBeUndefined();
  expect(parse(["one", "two"], { positionals: true }).positionals).toEqual(["one", "two"]);
});

test("every mistake is a UsageError that names the flag and belongs to the command's help", () => {
  const mistake = (args: string[]) => {
    try {
      parse(args);
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).command).toBe("tool");
      return (error as UsageError).message;
    }
    throw new Error(`${args.join(" ")} was accepted`);
  };
  expect(mistake(["--nmae", "a"])).toBe("unknown option '--nmae' for tool run");
  expect(mistake(["-x"])).toBe("unknown option '-x' for tool run");
  expect(mistake(["-nx"])).toBe("unknown option '-x' for tool run");
  expect(mistake(["--name"])).toBe("--name needs a value");
  expect(mistake(["--name="])).toBe("--name needs a value");
  expect(mistake(["--name", "--dry"])).toBe("--name needs a value (to give one that starts with '-', write --name=VALUE)");
  expect(mistake(["--dry=yes"])).toBe("--dry takes no value");
  expect(mistake(["--name", "a", "--name=b"])).toBe("--name is given twice; give it once");
  expect(mistake(["--since", "--since=x"])).toBe("--since is given twice; give it once");
  expect(mistake(["stray"])).toBe("unexpected argument 'stray' for tool run: it takes options only");
  expect(mistake(["--", "x"])).toBe("unexpected argument 'x' for tool run: it takes options only");
});

test("a flag marked multiple may repeat: its value is the list in order; an empty one is still refused", () => {
  const flags = { script: { type: "string", multiple: true }, port: { type: "string" } } as const;
  expect(parseCommandArgs("scripted-server", ["--script", "a.json", "--port", "1", "--script=b.json"], flags).values).toEqual({
    script: ["a.json", "b.json"],
    port: "1",
  });
  expect(parseCommandArgs("scripted-server", ["--script", "a.json"], flags).values.script).toEqual(["a.json"]);
  expect(() => parseCommandArgs("scripted-server", ["--script", "a.json", "--script="], flags)).toThrow("--script needs a value");
  expect(() => parseCommandArgs("scripted-server", ["--port", "1", "--port", "2"], flags)).toThrow("--port is given twice; give it once");
});

test("any words are split as node:util parseArgs (strict) splits them: the same values and positionals, or the same kind of refusal", () => {
  const flags = {
    name: { type: "string" },
    model: { type: "string", short: "m" },
    dry: { type: "boolean", short: "n" },
    quiet: { type: "boolean", short: "q" },
    tag: { type: "string", multiple: true },
  } as const;
  const word = fc.oneof(
    fc.constantFrom("--name", "--model", "-m", "--dry", "-n", "-q", "--tag", "--", "-", "--=x", "--__proto__", "-x", "--nmae", ""),
    fc.constantFrom("-nq", "-qn", "-nm", "-mn", "-nmx", "-mfoo", "-qx", "--dry=", "--dry=yes", "--name=", "--name=a=b", "--tag=t"),
    fc.constantFrom("a", "b c", "-1", "--x=y", "é", "-é"),
  );
  const refusals: Record<string, RegExp> = {
    ERR_PARSE_ARGS_UNKNOWN_OPTION: /^unknown option '-/,
    ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: /^unexpected argument '/,
    ERR_PARSE_ARGS_INVALID_OPTION_VALUE: /(needs a value|takes no value)/,
  };
  fc.assert(
    fc.property(fc.array(word, { maxLength: 6 }), fc.boolean(), (args, positionalsAllowed) => {
      let expected: { values: Record<string, unknown>; positionals: string[] } | { code: string };
      try {
        const { values, positionals } = parseArgs({ args, options: flags, strict: true, allowPositionals: positionalsAllowed });
        expected = { values: { ...values }, positionals };
      } catch (error) {
        expected = { code: (error as { code: string }).code };
      }
      let actual: { values: Record<string, unknown>; positionals: string[] } | { message: string };
      try {
        const { values, positionals } = parseCommandArgs("tool run", args, flags, { positionals: positionalsAllowed });
        actual = { values, positionals };
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        actual = { message: (error as UsageError).message };
      }
      if ("code" in expected) {
        expect("message" in actual ? actual.message : actual).toMatch(refusals[expected.code] ?? /^$/);
      } else if ("message" in actual) {
        // What parseArgs takes and org refuses: a string flag given twice or empty.
        expect(actual.message).toMatch(/is given twice|needs a value/);
      } else {
        expect(actual).toEqual(expected);
      }
    }),
    { numRuns: 3000 },
  );
});
