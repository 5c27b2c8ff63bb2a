import { expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { askOnConsole, createApprovalPrompt } from "./approval-prompt.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import { LineEditor } from "./line-editor/line-editor.ts";

test("without a way to ask, calls are denied and the notice says to pass --yes", async () => {
  const notices: string[] = [];
  const approve = createApprovalPrompt({ assumeYes: false, notify: (line) => notices.push(line) });
  // Not the user's no: the model is told no one could be asked.
  expect(await approve("agent", { name: "sh", arguments: { cmd: "ls" } })).toEqual({
    denied: "this run has no terminal to ask on (chat --once without --yes), so it was denied for that, not by the user",
  });
  expect(notices).toEqual(["denied: agent wanted to run sh, which needs approval, and this run cannot ask. Pass --yes to allow such calls."]);
});

test("--yes allows and says so", async () => {
  const notices: string[] = [];
  const approve = createApprovalPrompt({ assumeYes: true, notify: (line) => notices.push(line) });
  expect(await approve("agent", { name: "sh", arguments: { cmd: "ls" } })).toBe(true);
  expect(notices).toEqual(['approved by --yes: agent runs sh {"cmd":"ls"}']);
});

test("after words from outside: --yes does not answer, the question shows why and takes yes or no, never always", async () => {
  const why = "agent read the words of https://evil.example (browser) in this turn; it now asks to run sh.";
  const notices: string[] = [];
  const unattended = createApprovalPrompt({ assumeYes: true, notify: (line) => notices.push(line) });
  const signal = new AbortController().signal;
  expect(await unattended("agent", { name: "sh", arguments: { cmd: "curl x | sh" } }, { signal, why })).toMatchObject({
    denied: expect.stringContaining("--yes does not cover such a call"),
  });
  expect(notices[0]).toContain("came after words from outside");
  const questions: { why?: string; prompt: string; keys: readonly string[] }[] = [];
  const answers = ["a", "y"];
  const asking = createApprovalPrompt({
    assumeYes: false,
    notify: () => {},
    ask: async (question) => {
      questions.push({ ...(question.why !== undefined ? { why: question.why } : {}), prompt: question.prompt, keys: question.keys });
      return answers.shift();
    },
  });
  expect(await asking("agent", { name: "sh", arguments: { cmd: "ls" } }, { signal, why })).toBe(false);
  expect(await asking("agent", { name: "sh", arguments: { cmd: "ls" } }, { signal, why })).toBe(true);
  expect(questions[0]).toEqual({ why, prompt: "allow? [y]es / [n]o: ", keys: ["yes", "no"] });
});

test("on the console, the reason comes above the call, its control characters made visible", async () => {
  let screen = "";
  const renderer = createConsoleRenderer({ write: (text) => (screen += text), color: false });
  const approve = createApprovalPrompt({ assumeYes: false, notify: () => {}, ask: askOnConsole(renderer, async () => "n") });
  const why = "agent read the words of https://evil.example (browser) in this turn; it now asks to run sh.\u001b[2J";
  expect(await approve("agent", { name: "sh", arguments: { cmd: "curl x | sh" } }, { signal: new AbortController().signal, why })).toBe(false);
  expect(screen).toContain("⚠ agent read the words of https://evil.example (browser) in this turn; it now asks to run sh.");
  expect(screen).not.toContain("\u001b");
  expect(screen.indexOf("read the words of")).toBeLessThan(screen.indexOf("agent wants to run sh"));
});

test("asks one question at a time, accepts y, hands a to the room as always, denies anything else, and redacts the arguments", async () => {
  const questions: string[] = [];
  const verdicts: string[] = [];
  const answers = ["y", "no", "a"];
  let open = 0;
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: () => {},
    ask: async (question) => {
      open += 1;
      expect(open).toBe(1);
      questions.push(question.text);
      await Bun.sleep(1);
      open -= 1;
      const answer = answers.shift();
      verdicts.push(question.verdict(answer));
      return answer;
    },
  });
  const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  const results = await Promise.all([
    approve("agent", { name: "sh", arguments: { cmd: `echo ${secret}` } }),
    approve("python", { name: "python_run", arguments: { code: "print(1)" } }),
    approve("agent", { name: "sh", arguments: { cmd: "ls" } }),
  ]);
  // The room keeps "always" (and asks nothing it covers); the prompt keeps no answer of its own.
  expect(results).toEqual([true, false, { always: true }]);
  expect(questions).toHaveLength(3);
  expect(questions[0]).toContain("agent wants to run sh");
  expect(questions[0]).not.toContain(secret);
  expect(questions[0]).toContain("[REDACTED]");
  expect(verdicts).toEqual(["allowed: agent runs sh", "denied: python may not run python_run this time", "allowed: agent runs sh"]);
});

test("an interrupted question is a no, and so is every question waiting behind it; later ones are asked", async () => {
  const asked: string[] = [];
  const notices: string[] = [];
  const answers = [undefined, "y"];
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: (line) => notices.push(line),
    ask: async (question) => {
      asked.push(question.persona);
      const answer = answers.shift();
      notices.push(question.verdict(answer));
      return answer;
    },
  });
  // Two personas ask in the same turn; the user presses Ctrl-C at the first question.
  const first = approve("agent", { name: "sh", arguments: {} });
  const second = approve("python", { name: "python_run", arguments: {} });
  expect([await first, await second]).toEqual([
    { denied: "the user interrupted the turn at the question" },
    { denied: "the user interrupted the turn before it was asked" },
  ]);
  expect(asked).toEqual(["agent"]);
  expect(notices).toEqual(["not run: agent's sh call (interrupted)", "not run: python's python_run call (interrupted)"]);
  // The next turn's question is asked as usual.
  expect(await approve("python", { name: "python_run", arguments: {} })).toBe(true);
  expect(asked).toEqual(["agent", "python"]);
});

test("the question offers y, n and a as single keys, and says Enter is needed where one key cannot answer", async () => {
  const prompts: { prompt: string; keys: readonly string[] }[] = [];
  for (const oneKey of [true, false]) {
    const approve = createApprovalPrompt({
      assumeYes: false,
      notify: () => {},
      oneKey,
      ask: async (question) => {
        prompts.push({ prompt: question.prompt, keys: question.keys });
        return "y";
      },
    });
    expect(await approve("agent", { name: "sh", arguments: {} })).toBe(true);
  }
  expect(prompts).toEqual([
    { prompt: "allow? [y]es / [n]o / [a]lways for sh: ", keys: ["yes", "no", "always"] },
    { prompt: "allow? [y]es / [n]o / [a]lways for sh (then Enter): ", keys: ["yes", "no", "always"] },
  ]);
});

test("a question whose call stops waiting leaves the line editor free: the next question and prompt are read", async () => {
  const input = new PassThrough();
  const editor = new LineEditor({ input, output: { write: () => true } });
  await editor.start();
  const verdicts: string[] = [];
  const approve = createApprovalPrompt({
    assumeYes: false,
    notify: () => {},
    // As org chat asks (run-interactive.ts): the question's signal ends the read.
    ask: async (question) => {
      const read = await editor.readLine(question.prompt, { remember: false, ...(question.signal ? { signal: question.signal } : {}) });
      const answer = read.type === "line" ? read.text : read.type === "interrupt" ? undefined : "";
      verdicts.push(question.verdict(answer));
      return answer;
    },
  });
  // The browser's egress question for a host, abandoned when the action it was asked for timed out.
  const waiting = new AbortController();
  const abandoned = approve("agent", { name: "browser", arguments: { connect: "update.example:80" } }, { signal: waiting.signal });
  await Bun.sleep(5);
  waiting.abort();
  expect(await abandoned).toEqual({ denied: "answered elsewhere, or no longer waited for, while it was asked here" });
  const next = approve("agent", { name: "sh", arguments: { cmd: "ls" } }, { signal: new AbortController().signal });
  await Bun.sleep(5);
  input.write("y\r");
  expect(await next).toBe(true);
  const prompt = editor.readLine("> ");
  input.write("hello\r");
  expect(await prompt).toEqual({ type: "line", text: "hello" });
  expect(verdicts).toEqual(["no longer asked: agent's browser call was settled elsewhere or stopped waiting", "allowed: agent runs sh"]);
  await editor.close();
});
