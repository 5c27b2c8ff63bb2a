import { expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { type ChatLoopContext, runChatLoop } from "./chat-loop.ts";
import { LineEditor } from "./line-editor/line-editor.ts";
import type { CommandContext } from "../../room/command-context.ts";

/** A turn that streams until it is stopped: what a slow model looks like to the loop. */
function setup() {
  const input = new PassThrough();
  const editor = new LineEditor({ input, output: { write: () => true } });
  let output = "";
  const sent: string[] = [];
  const stopped: string[] = [];
  let turnStarted: () => void = () => {};
  const context: ChatLoopContext = {
    host: { mode: () => "group" } as unknown as CommandContext,
    frontEnd: "terminal",
    send: (text, signal) => {
      sent.push(text);
      turnStarted();
      if (text === "quick") return Promise.resolve();
      return new Promise((resolve) => {
        signal.addEventListener("abort", () => {
          stopped.push(text);
          resolve(undefined);
        });
      });
    },
    write: (text) => (output += text),
    clearScreen: () => {},
  };
  const nextTurn = () => new Promise<void>((resolve) => (turnStarted = resolve));
  return { input, editor, context, sent, stopped, nextTurn, output: () => output };
}

test("Ctrl-C stops the running turn and the room keeps reading; twice in a row leaves", async () => {
  const { input, editor, context, sent, stopped, nextTurn, output } = setup();
  await editor.start();
  const loop = runChatLoop(editor, context, { prompt: () => "> ", signal: new AbortController().signal });
  let started = nextTurn();
  input.write("tell me a long story\r");
  await started;
  input.write("\x03");
  started = nextTurn();
  input.write("quick\r");
  await started;
  expect(stopped).toEqual(["tell me a long story"]);
  // One Ctrl-C, one report.
  expect(output().split("stopped with Ctrl-C")).toHaveLength(2);
  expect(output()).toContain("(stopped with Ctrl-C) Press Ctrl-C again to leave, or type /quit.");
  started = nextTurn();
  input.write("another long one\r");
  await started;
  input.write("\x03\x03");
  await loop;
  expect(sent).toEqual(["tell me a long story", "quick", "another long one"]);
  expect(stopped).toEqual(["tell me a long story", "another long one"]);
  await editor.close();
});

test("Ctrl-C on a typed line clears it; on an empty prompt it warns, then leaves; /quit leaves", async () => {
  const { input, editor, context, sent, output } = setup();
  await editor.start();
  let loop = runChatLoop(editor, context, { prompt: () => "> ", signal: new AbortController().signal });
  input.write("half typed\x03");
  input.write("\x03");
  input.write("\x03");
  await loop;
  expect(sent).toEqual([]);
  expect(output()).toContain("Press Ctrl-C again to leave, or type /quit.");
  loop = runChatLoop(editor, context, { prompt: () => "> ", signal: new AbortController().signal });
  input.write("/nope\r/quit\r");
  await loop;
  expect(output()).toContain("unknown command /nope");
  await editor.close();
});
