import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createConsoleRenderer } from "./console-renderer.ts";
import type { PersonaStats, RoomEvent } from "../../room/room-event.ts";
import { ToolOutputs } from "../../room/tool-outputs.ts";

const stats: PersonaStats = {
  replies: 1,
  promptTokens: 10,
  completionTokens: 5,
  tokensPerSecond: 50,
  firstTokenMs: 12,
  queuedMs: 0,
  durationMs: 300,
};

function render(events: RoomEvent[], toolOutputs?: ToolOutputs) {
  let output = "";
  const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false, ...(toolOutputs ? { toolOutputs } : {}) });
  for (const event of events) renderer.handle(event);
  return renderer.idle().then(() => output);
}

const start = (persona: string, destination = "console"): RoomEvent => ({
  type: "reply-start",
  turnId: "t",
  replyId: `r-${persona}`,
  persona,
  model: "m",
  hop: 0,
  destination,
});
const delta = (persona: string, text: string): RoomEvent => ({ type: "text-delta", replyId: `r-${persona}`, persona, text });
const end = (persona: string, ok = true): RoomEvent => ({ type: "reply-end", replyId: `r-${persona}`, persona, ok, stats });

describe("console renderer", () => {
  test("interleaved streams come out as whole blocks, first to speak first", async () => {
    const output = await render([
      start("agent"),
      start("python"),
      delta("python", "py one\npy "),
      delta("agent", "agent one"),
      delta("python", "two"),
      { type: "notice", reason: "hop-limit", message: "a notice while both stream" },
      delta("agent", "\nagent two"),
      end("agent"),
      { type: "error", persona: "python", replyId: "r-python", message: "the stream broke" },
      end("python", false),
    ]);
    expect(output).toBe(
      [
        "python │ py one",
        "python │ py two",
        "python │ ✗ the stream broke",
        "python ╰ 5 tok · 50 tok/s · first token 12 ms · 0.3 s",
        "agent  │ agent one",
        "agent  │ agent two",
        "agent  ╰ 5 tok · 50 tok/s · first token 12 ms · 0.3 s",
        "· a notice while both stream",
        "",
      ].join("\n"),
    );
  });

  test("a reply that goes to a file shows one line, not its text", async () => {
    const output = await render([
      start("agent", "file:notes.md"),
      delta("agent", "secret plans"),
      { type: "file-written", replyId: "r-agent", persona: "agent", path: "notes.md", bytes: 40 },
      end("agent"),
    ]);
    expect(output).not.toContain("secret plans");
    expect(output).toContain("agent │ → reply written to notes.md (40 bytes)\n");
  });

  test("a tool result shows the first lines of its output under it, at most six, and how many more /output N shows", async () => {
    const call = { id: "c1", name: "sh", arguments: { cmd: "ls" } };
    const outputs = new ToolOutputs();
    const long = Array.from({ length: 16 }, (_, index) => `line ${index + 1}`).join("\n");
    const output = await render(
      [
        start("agent"),
        delta("agent", "let me look"),
        { type: "tool-call", replyId: "r-agent", persona: "agent", call },
        { type: "tool-result", replyId: "r-agent", persona: "agent", call, ok: true, output: "a\nb\nc", durationMs: 4 },
        { type: "tool-call", replyId: "r-agent", persona: "agent", call },
        { type: "tool-result", replyId: "r-agent", persona: "agent", call, ok: true, output: `${long}\u001b]52;c;aGk=\u0007`, durationMs: 9 },
        delta("agent", "three files"),
        end("agent"),
      ],
      outputs,
    );
    expect(output).toContain(
      'agent │ let me look\nagent │ ⚙ sh {"cmd":"ls"}\nagent │ ✓ sh · 4 ms · 3 lines of output · /output 1\nagent │   a\nagent │   b\nagent │   c\nagent │ ⚙ sh {"cmd":"ls"}\n',
    );
    expect(output).toContain(
      "agent │ ✓ sh · 9 ms · 16 lines of output · /output 2\nagent │   line 1\nagent │   line 2\nagent │   line 3\nagent │   line 4\nagent │   line 5\nagent │   line 6\nagent │   … 10 more lines: /output 2\nagent │ three files\n",
    );
    // The whole output is kept for /output, as the tool gave it; the screen never got the escape.
    expect(outputs.get()?.output).toEndWith("line 16\u001b]52;c;aGk=\u0007");
    expect(output).not.toContain("\u001b]52");
  });

  test("a browser action shows as a person reads it: its action and URL, then what the page offers from data.counts", async () => {
    const open = { id: "b1", name: "browser", arguments: { action: "open", url: "https://example.test/login" } };
    const typed = { id: "b2", name: "browser", arguments: { action: "type", ref: "e4", text: "ada", submit: true } };
    const shot = { id: "b3", name: "browser", arguments: { action: "screenshot" } };
    // A page's title and a hostile tool's data: an escape, a line break, a count that is no count.
    const snapshot =
      "page: https://example.test/login\ntitle: Sign in\u001b]0;owned\u0007\n" +
      "from: https://example.test (the page's words, not the person's)\n- textbox \"Email\" [ref=e4]";
    const data = (counts: unknown, more: object = {}) => ({ url: "https://example.test/login", title: "Sign in", counts, ...more });
    const result = (call: { id: string; name: string; arguments: Record<string, unknown> }, resultData: unknown, durationMs: number): RoomEvent =>
      ({ type: "tool-result", replyId: "r-agent", persona: "agent", call, ok: true, output: snapshot, data: resultData, durationMs }) as RoomEvent;
    const outputs = new ToolOutputs();
    const output = await render(
      [
        start("agent"),
        { type: "tool-call", replyId: "r-agent", persona: "agent", call: open },
        result(open, data({ links: 14, inputs: 3, buttons: 0 }), 812),
        { type: "tool-call", replyId: "r-agent", persona: "agent", call: typed },
        result(typed, data({ links: 1, inputs: 1, buttons: 2 }), 40),
        { type: "tool-call", replyId: "r-agent", persona: "agent", call: shot },
        result(shot, data({ links: 1, inputs: 1, buttons: 2 }, { screenshot: "screenshots/1.png" }), 90),
        { type: "tool-call", replyId: "r-agent", persona: "agent", call: open },
        result(open, data({ links: "14\n✓ fake", inputs: 3, buttons: 0 }), 7),
        end("agent"),
      ],
      outputs,
    );
    expect(output).toContain("agent │ ⚙ browser open https://example.test/login\nagent │ ✓ 14 links, 3 inputs · 812 ms · /output 1\n");
    expect(output).toContain('agent │ ⚙ browser type e4 "ada" and submit\nagent │ ✓ 1 link, 1 input, 2 buttons · 40 ms · /output 2\n');
    expect(output).toContain("agent │ ⚙ browser screenshot\nagent │ ✓ screenshot screenshots/1.png · 90 ms · /output 3\n");
    // /output 3 names the screenshot; the others made none.
    expect([1, 2, 3, 4].map((number) => outputs.get(number)?.screenshot)).toEqual([undefined, undefined, "screenshots/1.png", undefined]);
    // Data without the contract's shape is no summary: the usual line, never the tool's words as org's.
    expect(output).toContain("agent │ ✓ browser · 7 ms · 4 lines of output · /output 4\n");
    expect(output).not.toContain("fake");
    expect(output).not.toContain("\u001b]0");
  });

  test("a failed tool names itself once; several personas failing alike show the message once a turn", async () => {
    const call = { id: "c1", name: "sh", arguments: { cmd: "sleep 9" } };
    const missing = "model not found: qwen3:8b is not on http://127.0.0.1:11434. List models with 'ollama list'.";
    const turn = (id: string): RoomEvent => ({ type: "turn-start", turnId: id, text: "hi", mode: "group", addressed: [] });
    const failure = (persona: string): RoomEvent => ({ type: "error", persona, replyId: `r-${persona}`, message: missing });
    const output = await render([
      turn("t1"),
      start("agent"),
      { type: "tool-call", replyId: "r-agent", persona: "agent", call },
      { type: "tool-result", replyId: "r-agent", persona: "agent", call, ok: false, output: "Error: sh was cancelled.", durationMs: 4 },
      end("agent", false),
      start("python"),
      failure("python"),
      end("python", false),
      start("toolsmith"),
      failure("toolsmith"),
      end("toolsmith", false),
      turn("t2"),
      start("helper"),
      failure("helper"),
      end("helper", false),
    ]);
    expect(output).toContain("agent │ ✗ sh: was cancelled.\n");
    expect(output).toContain(`python │ ✗ ${missing}\n`);
    expect(output).toContain("toolsmith │ ✗ the same error as python\n");
    // A new turn shows it again.
    expect(output).toMatch(new RegExp(`helper +│ ✗ ${missing.replace(/[.:/()']/g, "\\$&")}\n`));
  });

  test("property: any interleaving of concurrent streams renders each reply whole and contiguous", async () => {
    const personas = ["ann", "bob", "cy"];
    const pieces = fc.array(fc.stringMatching(/^[a-z \n]{1,6}$/), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.tuple(pieces, pieces, pieces), fc.array(fc.nat(2), { maxLength: 60 }), async (texts, order) => {
        const queues = texts.map((list, index) => list.map((text) => delta(personas[index] as string, text)));
        const events: RoomEvent[] = personas.map((persona) => start(persona));
        for (const pick of order) {
          const next = queues[pick]?.shift();
          if (next) events.push(next);
        }
        for (const [index, queue] of queues.entries()) events.push(...queue, end(personas[index] as string));
        const output = await render(events);
        const lines = output.split("\n").filter((line) => line !== "");
        // Each persona's lines form one contiguous run.
        const runs = lines.map((line) => line.split(" ")[0]).filter((name, index, all) => name !== all[index - 1]);
        expect(runs.length).toBe(new Set(runs).size);
        // And its text is all there, in order.
        for (const [index, persona] of personas.entries()) {
          const body = lines
            .filter((line) => line.startsWith(`${persona.padEnd(3)} │ `))
            .map((line) => line.slice(`${persona.padEnd(3)} │ `.length))
            .join("\n");
          const expected = (texts[index] as string[])
            .join("")
            .split("\n")
            .filter((_, i, all) => i < all.length - 1 || all[i] !== "");
          expect(body).toBe(expected.join("\n"));
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe("console renderer: layout", () => {
  test("a line longer than the terminal is wrapped here, every piece under its speaker's prefix", async () => {
    let output = "";
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false, columns: () => 20 });
    const long = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (const event of [start("agent"), delta("agent", `${long}\nshort`), end("agent")]) renderer.handle(event);
    await renderer.idle();
    const lines = output.split("\n").filter((line) => line !== "");
    expect(lines.slice(0, 4)).toEqual(["agent │ abcdefghijkl", "agent │ mnopqrstuvwx", "agent │ yz0123456789", "agent │ short"]);
    for (const line of lines) expect(Bun.stringWidth(line)).toBeLessThanOrEqual(20);
    // Wide characters count two columns.
    output = "";
    const wide = createConsoleRenderer({ write: (text) => (output += text), color: false, columns: () => 13 });
    for (const event of [start("ai"), delta("ai", "日本語のテキスト"), end("ai")]) wide.handle(event);
    await wide.idle();
    expect(output).toStartWith("ai │ 日本語の\nai │ テキスト\n");
  });

  test("wrapping breaks between words, even when a word arrives in two pieces", async () => {
    let output = "";
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false, columns: () => 20 });
    for (const event of [start("agent"), delta("agent", "the quick brown fo"), delta("agent", "x jumps over the lazy dog"), end("agent")])
      renderer.handle(event);
    await renderer.idle();
    expect(output).toStartWith("agent │ the quick\nagent │ brown fox\nagent │ jumps over\nagent │ the lazy dog\nagent ╰");
  });

  test("org's own line while a reply is cut off mid-word (Ctrl-C) comes below the reply's line, with the held word on it", async () => {
    let output = "";
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false, columns: () => 60 });
    for (const event of [start("agent"), delta("agent", "I'll sa")]) renderer.handle(event);
    // The block gets the console once the lock's promise settles, as it has long before a person presses a key.
    await new Promise((resolve) => setImmediate(resolve));
    renderer.print(renderer.ansi.text("(stopped with Ctrl-C)\n"));
    renderer.handle(end("agent", false));
    await renderer.idle();
    // Before the fix the held "sa" was written after the stop line, on a line of its own before the closing ╰.
    expect(output).toBe(["agent │ I'll sa", "(stopped with Ctrl-C)", "agent ╰ 5 tok · 50 tok/s · first token 12 ms · 0.3 s", ""].join("\n"));
  });

  test("the ⚙ preview keeps indentation and shows newlines as \\n", async () => {
    const call = { id: "c1", name: "python_run", arguments: { code: "def f():\n    return  1" } };
    const output = await render([start("python"), { type: "tool-call", replyId: "r-python", persona: "python", call }, end("python")]);
    expect(output).toContain('python │ ⚙ python_run {"code":"def f():\\n    return  1"}\n');
  });
});

describe("console renderer: waiting for a silent server", () => {
  test("the spinner shows the time waited and, after 10 s, that no byte came yet; it never gives up by itself", async () => {
    let output = "";
    let clock = 0;
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: true, now: () => clock });
    renderer.handle(start("agent"));
    renderer.handle({ type: "waiting", replyId: "r-agent", persona: "agent", reason: "first-token", baseUrl: "http://127.0.0.1:1" });
    const shows = async (pattern: RegExp) => {
      for (let tries = 0; tries < 200 && !pattern.test(output); tries += 1) await Bun.sleep(25);
      expect(output).toMatch(pattern);
    };
    clock = 3_400;
    await shows(/agent thinking 3 s/);
    expect(output).not.toContain("no byte yet");
    clock = 12_000;
    await shows(/agent thinking 12 s · no byte yet; the server may be loading the model/);
    clock = 600_000;
    await shows(/agent thinking 600 s · no byte yet/);
    renderer.handle(delta("agent", "finally"));
    renderer.handle(end("agent"));
    await renderer.idle();
    expect(output).toContain("finally");
  });

  test("without colour (a pipe), a long silence is said once as a line", async () => {
    let output = "";
    let clock = 0;
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false, now: () => clock });
    renderer.handle(start("agent"));
    renderer.handle({ type: "waiting", replyId: "r-agent", persona: "agent", reason: "first-token", baseUrl: "http://127.0.0.1:1" });
    clock = 11_000;
    for (let tries = 0; tries < 200 && !output.includes("no byte yet"); tries += 1) await Bun.sleep(25);
    expect(output).toBe("· agent thinking 11 s · no byte yet; the server may be loading the model (org keeps waiting; Ctrl-C stops)\n");
    renderer.handle(delta("agent", "here"));
    renderer.handle(end("agent"));
    await renderer.idle();
    expect(output.split("no byte yet").length).toBe(2);
  });
});

describe("console renderer: an open question", () => {
  test("holds every other output until it closes, and shows the call's ⚙ line right above it", async () => {
    let output = "";
    const renderer = createConsoleRenderer({ write: (text) => (output += text), color: false });
    const call = { id: "c7", name: "sh", arguments: { cmd: "rm -rf /scratch/*" } };
    renderer.handle(start("python"));
    renderer.handle(start("agent"));
    renderer.handle(delta("python", "streaming live "));
    // The agent's ⚙ line is buffered behind python's live block.
    renderer.handle({ type: "tool-call", replyId: "r-agent", persona: "agent", call });
    await Bun.sleep(1); // python's block gets the console (a promise settles)
    const screen = renderer.openQuestion("agent", "c7");
    screen.say('agent wants to run sh {"cmd":"rm -rf /scratch/*"}');
    const atQuestion = output;
    expect(atQuestion).toBe(
      'python │ streaming live \nagent  │ ⚙ sh {"cmd":"rm -rf /scratch/*"}\nagent wants to run sh {"cmd":"rm -rf /scratch/*"}\n',
    );
    renderer.print(renderer.ansi.text("org's own line\n"));
    renderer.handle(delta("python", '\x1b[2A\x1b[2Kagent wants to run sh {"cmd":"df -h"}'));
    renderer.handle({ type: "notice", reason: "hop-limit", message: "a notice" });
    expect(output).toBe(atQuestion);
    screen.close();
    renderer.handle(end("python"));
    renderer.handle(end("agent"));
    await renderer.idle();
    expect(output.slice(atQuestion.length)).toStartWith('org\'s own line\npython │ \\x1b[2A\\x1b[2Kagent wants to run sh {"cmd":"df -h"}\n');
  });
});
