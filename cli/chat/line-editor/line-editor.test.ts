import { afterEach, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { LineEditor } from "./line-editor.ts";

const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function editorWithHistory() {
  const directory = await mkdtemp(join(tmpdir(), "org-editor-"));
  directories.push(directory);
  const input = new PassThrough();
  let written = "";
  const historyFile = join(directory, ".org", "history");
  const editor = new LineEditor({ input, output: { write: (text: string) => (written += text) }, historyFile });
  await editor.start();
  return { editor, input, historyFile, output: () => written };
}

test("reads lines from a stream, keeps them in the history file, and recalls them in a new editor", async () => {
  const first = await editorWithHistory();
  const line = first.editor.readLine("> ");
  first.input.write("two lines \\\rof input\r");
  expect(await line).toEqual({ type: "line", text: "two lines \nof input" });
  expect(first.output()).toContain("> two lines ");
  await first.editor.close();
  expect(await readFile(first.historyFile, "utf8")).toBe('"two lines \\nof input"\n');

  const input = new PassThrough();
  const second = new LineEditor({ input, output: { write: () => true }, historyFile: first.historyFile });
  await second.start();
  const recalled = second.readLine("> ");
  input.write("\x1b[A\r");
  expect(await recalled).toEqual({ type: "line", text: "two lines \nof input" });
  await second.close();
});

test("Ctrl-C while idle goes to the interrupt handler; typed-ahead text waits for the next prompt", async () => {
  const { editor, input } = await editorWithHistory();
  let interrupts = 0;
  editor.onInterrupt(() => (interrupts += 1));
  input.write("\x03ahead");
  expect(interrupts).toBe(1);
  const line = editor.readLine("> ");
  input.write("\r");
  expect(await line).toEqual({ type: "line", text: "ahead" });
  const interrupted = editor.readLine("> ");
  input.write("half\x03");
  expect(await interrupted).toEqual({ type: "interrupt", text: "half" });
  await editor.close();
});

test("end of input ends a pending read as eof", async () => {
  const { editor, input } = await editorWithHistory();
  const line = editor.readLine("> ");
  input.end();
  expect(await line).toEqual({ type: "eof" });
  await editor.close();
});

test("a read whose signal aborts ends as cancelled, and the line is free for the next read", async () => {
  const { editor, input } = await editorWithHistory();
  const stop = new AbortController();
  const question = editor.readLine("allow? ", { remember: false, signal: stop.signal });
  input.write("ha");
  stop.abort();
  expect(await question).toEqual({ type: "cancelled" });
  // Before the fix the next prompt threw "readLine is already waiting for input" and org chat ended.
  const next = editor.readLine("> ");
  input.write("lf\r");
  expect(await next).toEqual({ type: "line", text: "lf" });
  expect(await editor.readLine("> ", { signal: stop.signal })).toEqual({ type: "cancelled" });
  await editor.close();
});

test("answers of one key: on a terminal y answers at once, without Enter; off a terminal the line waits for Enter", async () => {
  const terminal = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => terminal });
  let clock = 0;
  const onTerminal = new LineEditor({ input: terminal, output: { write: () => true }, now: () => clock });
  await onTerminal.start();
  expect(onTerminal.answersWithOneKey).toBe(true);
  const answered = onTerminal.readLine("allow? ", { remember: false, keys: ["yes", "no"] });
  terminal.write("Y");
  expect(await answered).toEqual({ type: "line", text: "Y" });
  // "es" and Enter typed out of habit right after are dropped: they do not become the next message.
  terminal.write("e");
  terminal.write("s");
  terminal.write("\r");
  // A key that is no answer, or one typed after other text, edits the line as usual.
  const typed = onTerminal.readLine("allow? ", { remember: false, keys: ["yes", "no"] });
  terminal.write("x");
  terminal.write("y");
  terminal.write("\r");
  expect(await typed).toEqual({ type: "line", text: "xy" });
  // Long after an answer, the same letters are a new message.
  const again = onTerminal.readLine("allow? ", { remember: false, keys: ["yes", "no"] });
  terminal.write("n");
  expect(await again).toEqual({ type: "line", text: "n" });
  clock += 5_000;
  const message = onTerminal.readLine("> ");
  terminal.write("o");
  terminal.write("k\r");
  expect(await message).toEqual({ type: "line", text: "ok" });
  await onTerminal.close();

  const pipe = new PassThrough();
  const offTerminal = new LineEditor({ input: pipe, output: { write: () => true } });
  await offTerminal.start();
  expect(offTerminal.answersWithOneKey).toBe(false);
  const line = offTerminal.readLine("allow? ", { remember: false, keys: ["yes", "no"] });
  let settled = false;
  void line.then(() => (settled = true));
  pipe.write("y");
  await Bun.sleep(50);
  expect(settled).toBe(false);
  pipe.write("es\n");
  expect(await line).toEqual({ type: "line", text: "yes" });
  await offTerminal.close();
});
