import { expect, test } from "bun:test";
import { HOSTILE_WORDS } from "./hostile-words.ts";
import { environmentCommand, handOverLine, MAX_HAND_OVER_BYTES, quoteWord, WAITER_SCRIPT, WAITER_SHELL } from "./hand-over.ts";

// The line run by the real dash exactly as a waiting sandbox runs it, with a program that prints its argv.
async function runLine(line: string, stdinTail = ""): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const proc = Bun.spawn([WAITER_SHELL, "-c", WAITER_SCRIPT], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: {} });
  proc.stdin.write(line + stdinTail);
  await proc.stdin.end();
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode: proc.exitCode };
}

const printArgv = [process.execPath, "-e", "process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env }))"];

test("a hostile argv reaches the command word for word, with nothing run on the way", async () => {
  const line = handOverLine([...printArgv, ...HOSTILE_WORDS]);
  if (line === undefined) throw new Error("the hostile words should be carried");
  expect(line.endsWith("\n")).toBe(true);
  expect(line.slice(0, -1)).not.toContain("\n");
  const result = await runLine(line);
  expect(result.stderr).toBe("");
  expect(JSON.parse(result.stdout).argv).toEqual(HOSTILE_WORDS);
});

test("the command gets the environment a fresh sandbox gives, in its order, and stdin on /dev/null", async () => {
  const line = handOverLine([...printArgv]);
  if (line === undefined) throw new Error("a short line should be carried");
  // What follows the line on the pipe never reaches the command.
  const result = await runLine(line, "not for the command\n");
  const { env } = JSON.parse(result.stdout);
  expect(Object.keys(env)).toEqual(["PATH", "LANG", "HOME", "TMPDIR", "PWD"]);
  expect(environmentCommand().slice(2)).toEqual(Object.entries(env).map(([name, value]) => `${name}=${value}`));
  const stdin = await runLine(handOverLine(["/bin/sh", "-c", "cat; readlink /proc/self/fd/0"]) ?? "");
  expect(stdin.stdout).toBe("/dev/null\n");
});

test("a word that no line can carry faithfully is refused, so the call starts a fresh sandbox", () => {
  expect(handOverLine(["/bin/echo", "nul\0inside"])).toBeUndefined();
  expect(handOverLine(["/bin/echo", "lone \ud800 surrogate"])).toBeUndefined();
  expect(handOverLine(["/bin/echo", "x".repeat(MAX_HAND_OVER_BYTES)])).toBeUndefined();
  expect(handOverLine(["/bin/echo", "x".repeat(100)])).toBeDefined();
});

test("a pipe closed before a whole line runs nothing", async () => {
  const result = await runLine("exec /bin/echo ran");
  expect(result).toEqual({ stdout: "", stderr: "", exitCode: 125 });
});

// Reads a quoted word the way sh does, accepting only single-quoted runs, an escaped quote and "$NL".
function unquote(quoted: string): string | undefined {
  let word = "";
  let rest = quoted;
  while (rest.length > 0) {
    const run = /^'([^']*)'/.exec(rest);
    if (run) word += run[1] ?? "";
    else if (rest.startsWith("\\'")) word += "'";
    else if (rest.startsWith('"$NL"')) word += "\n";
    else return undefined;
    rest = rest.slice(run ? run[0].length : rest.startsWith("\\'") ? 2 : 5);
  }
  return word;
}

test("quoteWord leaves nothing outside single quotes but escaped quotes and the newline variable", () => {
  for (const word of HOSTILE_WORDS) expect(unquote(quoteWord(word))).toBe(word);
});
