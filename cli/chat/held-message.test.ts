import { expect, test } from "bun:test";
import type { ReadResult } from "./line-editor/line-editor.ts";
import { askAboutCredentials, confirmMisspelt, groupMisspelling, sendHeld } from "./held-message.ts";

/** Questions answered from a list, in order; what was said and asked is kept. */
function scripted(answers: (string | undefined)[]) {
  const said: string[] = [];
  const asked: string[] = [];
  return {
    said,
    asked,
    questions: {
      credentialPrompt: "CREDENTIALS? ",
      say: (text: string) => void said.push(text),
      ask: async (prompt: string): Promise<ReadResult> => {
        asked.push(prompt);
        const answer = answers.shift();
        return answer === undefined ? { type: "eof" } : { type: "line", text: answer };
      },
    },
  };
}

const group = { mode: { kind: "group" as const }, personas: () => [{ name: "agent" }, { name: "python" }] };

test("a misspelt @name is looked for in group mode only", () => {
  expect(groupMisspelling(group, "@agnet hi")?.corrected).toBe("@agent hi");
  expect(groupMisspelling({ ...group, mode: { kind: "direct" as const, persona: "agent" } }, "@agnet hi")).toBeUndefined();
});

test("the misspelling question sends corrected on y, as written on n, and nothing on Enter", async () => {
  const misspelt = { problem: "no persona @agnet", corrected: "@agent hi" };
  expect(await confirmMisspelt(misspelt, "@agnet hi", scripted(["y"]).questions)).toBe("@agent hi");
  expect(await confirmMisspelt(misspelt, "@agnet hi", scripted(["No"]).questions)).toBe("@agnet hi");
  const enter = scripted([""]);
  expect(await confirmMisspelt(misspelt, "@agnet hi", enter.questions)).toBeUndefined();
  expect(enter.said.at(-1)).toContain("not sent");
});

test("the credential question is asked again until the answer is one it knows", async () => {
  const run = scripted(["what?", "w"]);
  expect(await askAboutCredentials({ kinds: ["an API key"], redacted: "key [REDACTED]" }, run.questions)).toBe("as-written");
  expect(run.asked).toEqual(["CREDENTIALS? ", "CREDENTIALS? "]);
  expect(run.said).toContain("Type r (or just Enter), w or e.");
  expect(await askAboutCredentials({ kinds: ["an API key"], redacted: "x" }, scripted([undefined]).questions)).toBe("edit");
});

test("sendHeld sends a clean message as is, and hands a message with a key back for editing on 'e'", async () => {
  const sent: { text: string; credentials: unknown }[] = [];
  const room = {
    ...group,
    send: async (text: string, options?: { credentials?: unknown }) => void sent.push({ text, credentials: options?.credentials }),
  };
  const signal = new AbortController().signal;
  expect(await sendHeld(room, [], scripted([]).questions, async () => {})("hello", signal)).toBeUndefined();
  const secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD";
  expect(await sendHeld(room, [], scripted(["e"]).questions, async () => {})(`my key ${secret}`, signal)).toEqual({ edit: `my key ${secret}` });
  expect(await sendHeld(room, [], scripted([""]).questions, async () => {})(`my key ${secret}`, signal)).toBeUndefined();
  expect(sent).toEqual([
    { text: "hello", credentials: "redact" },
    { text: `my key ${secret}`, credentials: "redact" },
  ]);
});

test("where one key cannot answer (no terminal), the misspelling question says Enter is needed; where it can, it offers y and n as keys", async () => {
  const misspelt = { problem: "no persona @agnet", corrected: "@agent hi" };
  const keysAsked: (readonly string[] | undefined)[] = [];
  const lineOnly = scripted(["y"]);
  const ask = lineOnly.questions.ask;
  await confirmMisspelt(misspelt, "@agnet hi", {
    ...lineOnly.questions,
    oneKey: false,
    ask: (prompt, keys) => {
      keysAsked.push(keys);
      return ask(prompt);
    },
  });
  expect(lineOnly.asked[0]).toBe('send it as "@agent hi"? [y]es / [n]o, to everyone as written (then Enter) / Enter: not sent › ');
  expect(keysAsked).toEqual([["yes", "no"]]);
  const oneKey = scripted(["y"]);
  await confirmMisspelt(misspelt, "@agnet hi", { ...oneKey.questions, oneKey: true });
  expect(oneKey.asked[0]).not.toContain("then Enter");
});
