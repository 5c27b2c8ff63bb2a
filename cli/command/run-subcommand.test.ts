import { expect, test } from "bun:test";
import { UsageError } from "./command.ts";
import { runSubcommand } from "./run-subcommand.ts";

const run = runSubcommand("thing", { go: async (args) => args.length }, (word) => (word === undefined ? "thing needs go" : `no '${word}'`));
const signal = new AbortController().signal;

test("the first word picks the subcommand, which gets the words after it", async () => {
  expect(await run(["go", "a", "b"], signal)).toBe(2);
});

test("no word, an unknown word or an inherited name is a UsageError for the command", async () => {
  for (const [args, message] of [
    [[], "thing needs go"],
    [["stop"], "no 'stop'"],
    [["toString"], "no 'toString'"],
    [["__proto__"], "no '__proto__'"],
  ] as const) {
    const error = await run([...args], signal).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ message, command: "thing" });
  }
});
