import { ChannelLock } from "../concurrency/channel-lock.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { type Ansi, createAnsi, isStyle, type Style, type TerminalText } from "./ansi.ts";
import { callPreview, FAILURE_WIDTH, failureText, formatStats, oneLine, SLOW_FIRST_BYTE_MS, waitingText } from "./reply-lines.ts";
import { wrapAt } from "./wrap-line.ts";

const PALETTE: Style[] = ["cyan", "yellow", "magenta", "green", "blue", "red"];
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

type Block = {
  persona: string;
  toFile: boolean;
  buffer: TerminalText[];
  live: boolean;
  requested: boolean;
  ended: boolean;
  atLineStart: boolean;
  /** Columns used on the current line after the speaker prefix. */
  column: number;
  channel: "text" | "reasoning" | undefined;
  waiting: "queued" | "first-token" | undefined;
  waitingSince: number;
  slowSaid: boolean;
  /** The end of streamed text that may be the start of a longer word, not written yet. */
  heldWord?: { text: string; style: Style | undefined; bar: string };
  finish?: () => void;
};

/** An open approval question: its own lines reach the terminal, everything else waits until `close`. */
export type QuestionScreen = {
  /** Writes lines of the question (sanitized, then painted). */
  say(text: string, style?: Style): void;
  /** The prompt line for the line editor, made safe for the terminal. */
  prompt(text: string, style?: Style): TerminalText;
  /** Ends the question; the output held meanwhile follows. */
  close(): void;
};

export type ConsoleRenderer = {
  /** The ANSI helper this console paints with. */
  ansi: Ansi;
  /** Takes one room event; output appears at once for the block that holds the console, later for others. */
  handle(event: RoomEvent): void;
  /** Writes org's own text (banners, command output): made safe by `ansi`, held while a question is open. */
  print(text: TerminalText): void;
  /**
   * Opens an approval question for `persona`'s call: the call's `⚙` line is shown right above it, and no
   * other output reaches the terminal until the question is closed.
   */
  openQuestion(persona: string, callId: string | undefined): QuestionScreen;
  /** Resolves once every block that has output has been written out in full. */
  idle(): Promise<void>;
};

/**
 * Renders room events to one console: each persona's reply is a block of lines prefixed with its name.
 * Concurrent replies never interleave: the block holding the ChannelLock streams live, the others buffer
 * and follow in the order their first output came. With `color`, a spinner shows who is still thinking.
 * Every string from outside org passes the terminal sanitizer before it is painted; `write` receives
 * nothing else. Lines longer than `columns()` are wrapped here, each piece under its speaker's prefix.
 */
export function createConsoleRenderer(options: {
  write: (text: string) => void;
  color: boolean;
  /** Colour names per persona (red, green, yellow, blue, magenta, cyan, white, gray). */
  personaColors?: Record<string, string>;
  /** The terminal's width now; undefined (a pipe) wraps nothing. */
  columns?: () => number | undefined;
  /** The clock waits are measured with (milliseconds). */
  now?: () => number;
}): ConsoleRenderer {
  const { write, color } = options;
  const ansi = createAnsi(color);
  const now = options.now ?? (() => performance.now());
  const lock = new ChannelLock();
  const blocks = new Map<string, Block>();
  const colors = new Map<string, Style>();
  for (const [persona, name] of Object.entries(options.personaColors ?? {})) if (isStyle(name)) colors.set(persona, name);
  const width = { value: 0 };
  let unfinished = 0;
  let idleWaiters: (() => void)[] = [];
  let statusShown = false;
  let statusTimer: ReturnType<typeof setInterval> | undefined;
  let spinnerFrame = 0;
  // While a question is open, what would have been written waits here.
  let held: TerminalText[] | undefined;
  // The last stretch written, to know whether a call's ⚙ line is already right above its question.
  let recent = "";
  const callLines = new Map<string, { persona: string; text: TerminalText }>();

  const personaStyle = (persona: string): Style => {
    let style = colors.get(persona);
    if (!style) {
      style = PALETTE[colors.size % PALETTE.length] as Style;
      colors.set(persona, style);
    }
    return style;
  };
  const prefixText = (persona: string, bar: string) => `${persona.padEnd(width.value)} ${bar} `;
  const prefix = (persona: string, bar = "│") => ansi.text(prefixText(persona, bar), personaStyle(persona));

  const clearStatus = () => {
    if (statusShown) {
      write(ansi.clearLine);
      statusShown = false;
    }
  };
  // The single write point: nothing reaches `write` but TerminalText, which only the ANSI helper makes.
  const toTerminal = (text: TerminalText) => {
    if (held) {
      held.push(text);
      return;
    }
    clearStatus();
    write(text);
    recent = (recent + text).slice(-4096);
  };

  const waitingBlocks = () => [...blocks.values()].filter((block) => block.waiting && !block.requested);
  const waitText = (block: Block) => waitingText(block.persona, block.waiting ?? "first-token", now() - block.waitingSince);
  const tickStatus = () => {
    const waiting = waitingBlocks();
    if (waiting.length === 0) {
      if (statusTimer) clearInterval(statusTimer);
      statusTimer = undefined;
      if (!held) clearStatus();
      return;
    }
    if (!color) {
      // Without a spinner, a long silence is said once, as a line of its own.
      for (const block of waiting) {
        if (block.slowSaid || block.waiting !== "first-token" || now() - block.waitingSince < SLOW_FIRST_BYTE_MS) continue;
        block.slowSaid = true;
        notice(ansi.text(`· ${waitText(block)}`, "gray"));
      }
      return;
    }
    if (lock.isLocked || held) return;
    spinnerFrame = (spinnerFrame + 1) % SPINNER.length;
    write(ansi.join(ansi.clearLine, ansi.text(`${SPINNER[spinnerFrame]} ${waiting.map(waitText).join(" · ")}`, "gray")));
    statusShown = true;
  };
  const startStatus = () => {
    if (statusTimer) return;
    statusTimer = setInterval(tickStatus, 100);
    statusTimer.unref?.();
  };

  const out = (block: Block, text: TerminalText) => {
    if (block.live) toTerminal(text);
    else block.buffer.push(text);
  };
  const newline = (block: Block) => {
    out(block, ansi.text("\n"));
    block.atLineStart = true;
    block.column = 0;
  };
  const endLine = (block: Block) => {
    flushWord(block);
    if (!block.atLineStart) newline(block);
  };
  const flushWord = (block: Block) => {
    const held = block.heldWord;
    if (!held) return;
    block.heldWord = undefined;
    put(block, held.text, held.style, held.bar, false);
  };
  /**
   * Writes `text` into the block: sanitized first, wrapped at the terminal's width between words, every
   * line under the prefix. While streaming (`holdWord`), a word at the end waits for the next piece, since
   * it may go on there and should not be split by a wrap.
   */
  const put = (block: Block, text: string, style: Style | undefined, bar: string, holdWord: boolean) => {
    let shown = sanitizeForTerminal(text);
    const held = block.heldWord;
    if (held && held.style === style && held.bar === bar) {
      block.heldWord = undefined;
      shown = held.text + shown;
    } else flushWord(block);
    const columns = options.columns?.();
    if (holdWord && columns) {
      const word = /\S+$/.exec(shown);
      if (word) {
        block.heldWord = { text: word[0], style, bar };
        shown = shown.slice(0, word.index);
      }
    }
    const pieces = shown.split("\n");
    const startLine = () => {
      out(block, prefix(block.persona, bar));
      block.atLineStart = false;
      block.column = 0;
    };
    pieces.forEach((piece, index) => {
      const last = index === pieces.length - 1;
      // An empty line inside the text still shows its speaker.
      if (block.atLineStart && (piece !== "" || !last)) startLine();
      let rest = piece;
      while (rest !== "") {
        if (block.atLineStart) startLine();
        const room = columns ? columns - Bun.stringWidth(prefixText(block.persona, bar)) - block.column : Number.POSITIVE_INFINITY;
        const [head, tail] = wrapAt(rest, room, block.column > 0);
        if (head !== "") {
          out(block, ansi.text(head, style));
          block.column += Bun.stringWidth(head);
        }
        rest = tail;
        if (rest !== "" || head === "") newline(block);
      }
      if (!last) newline(block);
    });
  };
  /** A line of its own in the block. */
  const line = (block: Block, text: string, style?: Style, bar = "│") => {
    endLine(block);
    block.channel = undefined;
    put(block, text, style, bar, false);
    newline(block);
  };
  const stream = (block: Block, text: string, channel: "text" | "reasoning") => {
    if (block.channel !== channel) endLine(block);
    block.channel = channel;
    put(block, text, channel === "reasoning" ? "dim" : undefined, channel === "reasoning" ? "┊" : "│", true);
  };

  const settleIdle = () => {
    if (unfinished > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  // Output starts when a block has something to show; from then on it waits its turn for the console.
  const request = (block: Block) => {
    if (block.requested) return;
    block.requested = true;
    unfinished += 1;
    void lock.waitForLock(Number.POSITIVE_INFINITY).then((release) => {
      block.live = true;
      const buffered = block.buffer;
      block.buffer = [];
      if (buffered.length > 0) toTerminal(ansi.join(...buffered));
      const finish = () => {
        release();
        unfinished -= 1;
        settleIdle();
      };
      if (block.ended) finish();
      else block.finish = finish;
    });
  };
  const end = (block: Block) => {
    block.ended = true;
    request(block);
    if (block.live && block.finish) block.finish();
  };

  // Lines that belong to no reply (mode changes, notices) queue for the console like a block of their own.
  let oneShots = 0;
  const notice = (text: TerminalText) => {
    const block = newBlock(`·notice-${oneShots++}`, "", false);
    block.buffer.push(ansi.join(text, ansi.text("\n")));
    end(block);
  };
  const newBlock = (key: string, persona: string, toFile: boolean): Block => {
    const block: Block = {
      persona,
      toFile,
      buffer: [],
      live: false,
      requested: false,
      ended: false,
      atLineStart: true,
      column: 0,
      channel: undefined,
      waiting: undefined,
      waitingSince: 0,
      slowSaid: false,
    };
    blocks.set(key, block);
    return block;
  };
  const blockOf = (replyId: string, persona: string) => blocks.get(replyId) ?? newBlock(replyId, persona, false);
  const stopWaiting = (block: Block) => {
    block.waiting = undefined;
  };

  const turnErrors = new Map<string, string>();
  const handle = (event: RoomEvent) => {
    switch (event.type) {
      case "turn-start":
        turnErrors.clear();
        break;
      case "reply-start":
        width.value = Math.max(width.value, event.persona.length);
        newBlock(event.replyId, event.persona, event.destination !== "console");
        break;
      case "waiting": {
        const block = blockOf(event.replyId, event.persona);
        if (block.waiting !== event.reason) {
          block.waitingSince = now();
          block.slowSaid = false;
        }
        block.waiting = event.reason;
        if (!block.requested) startStatus();
        break;
      }
      case "text-delta":
      case "reasoning-delta": {
        const block = blockOf(event.replyId, event.persona);
        stopWaiting(block);
        if (block.toFile) break;
        request(block);
        stream(block, event.text, event.type === "text-delta" ? "text" : "reasoning");
        break;
      }
      case "tool-call": {
        const block = blockOf(event.replyId, event.persona);
        stopWaiting(block);
        request(block);
        endLine(block);
        const text = `⚙ ${event.call.name} ${callPreview(event.call)}`;
        // Kept as written, so an approval question can show this very line right above it.
        const captured: TerminalText[] = [];
        const saved = { live: block.live, buffer: block.buffer };
        block.live = false;
        block.buffer = captured;
        line(block, text, "dim");
        block.live = saved.live;
        block.buffer = saved.buffer;
        const rendered = ansi.join(...captured);
        callLines.set(event.call.id, { persona: event.persona, text: rendered });
        out(block, rendered);
        break;
      }
      case "tool-result": {
        const block = blockOf(event.replyId, event.persona);
        request(block);
        callLines.delete(event.call.id);
        const lines = event.output === "" ? 0 : event.output.split("\n").length;
        if (event.ok) line(block, `✓ ${event.call.name} · ${event.durationMs} ms · ${lines} line${lines === 1 ? "" : "s"} of output`, "dim");
        else line(block, `✗ ${event.call.name}: ${oneLine(failureText(event.call.name, event.output), FAILURE_WIDTH)}`, "red");
        break;
      }
      case "progress": {
        const block = blockOf(event.replyId, event.persona);
        stopWaiting(block);
        request(block);
        const mark = event.status === "done" ? "✓" : event.status === "failed" ? "✗" : event.status === "skipped" ? "·" : "…";
        const detail = event.detail ? ` · ${oneLine(event.detail, 200)}` : "";
        line(block, `${mark} ${oneLine(event.step, 60)}: ${event.status}${detail}`, event.status === "failed" ? "red" : "dim");
        break;
      }
      case "file-written": {
        const block = blockOf(event.replyId, event.persona);
        request(block);
        line(block, `→ reply written to ${event.path} (${event.bytes} bytes)`);
        break;
      }
      case "error": {
        if (event.replyId && event.persona) {
          const block = blockOf(event.replyId, event.persona);
          stopWaiting(block);
          request(block);
          // A stop the user asked for is said once, by the chat loop; each stopped reply just ends.
          if (event.kind === "aborted") break;
          // Several personas on one server often fail alike (a missing model): the message is shown once a turn.
          const first = turnErrors.get(event.message);
          if (first === undefined) turnErrors.set(event.message, event.persona);
          line(block, first === undefined ? `✗ ${event.message}` : `✗ the same error as ${first}`, "red");
        } else {
          notice(ansi.text(`✗ ${event.persona ? `${event.persona}: ` : ""}${event.message}`, "red"));
        }
        break;
      }
      case "reply-end": {
        const block = blockOf(event.replyId, event.persona);
        stopWaiting(block);
        if (!block.toFile || event.stats.completionTokens > 0) {
          endLine(block);
          line(block, formatStats(event.stats), "gray", "╰");
        }
        end(block);
        blocks.delete(event.replyId);
        break;
      }
      case "mode":
        notice(ansi.text(`· mode is now ${event.mode}${event.by === "user" ? "" : ` (set by ${event.by})`}`, "gray"));
        break;
      case "model-changed":
        notice(ansi.text(`· ${event.persona} now uses ${event.model}`, "gray"));
        break;
      case "notice":
        notice(ansi.text(`· ${event.message}`, "yellow"));
        break;
      case "cleared":
        notice(ansi.text("· history cleared", "gray"));
        break;
      default:
        break;
    }
  };

  return {
    ansi,
    handle,
    print: toTerminal,
    openQuestion(persona, callId) {
      // A reply cut off mid-line ends its line first, so that it goes on under its prefix afterwards.
      for (const block of blocks.values()) if (block.live && !block.ended) endLine(block);
      clearStatus();
      const direct = (text: TerminalText) => {
        write(text);
        recent = (recent + text).slice(-4096);
      };
      if (recent !== "" && !recent.endsWith("\n")) direct(ansi.text("\n"));
      const callLine = callId === undefined ? undefined : callLines.get(callId);
      if (callLine && callLine.persona === persona && !recent.endsWith(callLine.text)) direct(callLine.text);
      held ??= [];
      let closed = false;
      return {
        say: (text, style) => direct(ansi.join(ansi.text(text, style), ansi.text("\n"))),
        prompt: (text, style) => ansi.text(text, style),
        close() {
          if (closed) return;
          closed = true;
          const flushed = held ?? [];
          held = undefined;
          // What the line editor echoed ends with the answer's newline, so the held output starts on a fresh line.
          recent = "";
          if (flushed.length > 0) toTerminal(ansi.join(...flushed));
        },
      };
    },
    idle() {
      if (unfinished === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
