import type { RoomEvent } from "../../room/room-event.ts";
import { type Ansi, createAnsi, isStyle, type Style, type TerminalText } from "../terminal/ansi.ts";
import { type BlockQueue, createBlockQueue } from "./block-queue.ts";
import { type Block, type BlockWriter, createBlockWriter } from "./block-writer.ts";
import { type ConsoleScreen, createConsoleScreen } from "./console-screen.ts";
import { CALL_SUMMARY_WIDTH, callPreview, formatStats } from "./reply-lines.ts";
import { toolCallSummary } from "../../room/tool-summary.ts";
import { oneLine } from "../../security/terminal-sanitizer.ts";
import { progressLine, roomNoticeLine, toolOutputPreview, toolResultLine } from "./room-event-lines.ts";
import type { ToolOutputs } from "../../room/tool-outputs.ts";
import { createWaitStatus } from "./wait-status.ts";

const PALETTE: Style[] = ["cyan", "yellow", "magenta", "green", "blue", "red"];

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
  /**
   * Writes org's own text (banners, command output) on a line of its own: a reply cut off mid-line ends its line first.
   * Made safe by `ansi`, held while a question is open.
   */
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
 * Concurrent replies never interleave: the block holding the console streams live, the others buffer
 * and follow in the order their first output came (`block-queue.ts`). With `color`, a spinner shows who is
 * still thinking (`wait-status.ts`). Every string from outside org passes the terminal sanitizer before it
 * is painted; `write` receives nothing else (`console-screen.ts`). Lines longer than `columns()` are
 * wrapped, each piece under its speaker's prefix (`block-writer.ts`).
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
  /** Where each tool result is kept and numbered for `/output`; without it results are shown unnumbered. */
  toolOutputs?: ToolOutputs;
}): ConsoleRenderer {
  const ansi = createAnsi(options.color);
  const now = options.now ?? (() => performance.now());
  const screen = createConsoleScreen(options.write, ansi);
  const queue = createBlockQueue(ansi, screen.toTerminal);
  const width = { value: 0 };
  const writer = createBlockWriter({
    ansi,
    out: queue.out,
    personaStyle: personaStyles(options.personaColors),
    nameWidth: () => width.value,
    columns: options.columns,
  });
  const status = createWaitStatus({
    ansi,
    blocks: () => queue.blocks.values(),
    now,
    mayDraw: () => !queue.busy && !screen.holding,
    holding: () => screen.holding,
    showStatus: screen.showStatus,
    clearStatus: screen.clearStatus,
    notice: queue.notice,
  });
  const callLines = new Map<string, { persona: string; text: TerminalText }>();
  const handle = roomEventHandler({
    ansi,
    queue,
    writer,
    callLines,
    now,
    width,
    startStatus: status.start,
    ...(options.toolOutputs ? { toolOutputs: options.toolOutputs } : {}),
  });
  return {
    ansi,
    handle,
    print(text) {
      // org's own line (the Ctrl-C stop among them) starts below a reply cut off mid-line, whose held word ends that line.
      for (const block of queue.blocks.values()) if (block.live && !block.ended) writer.endLine(block);
      screen.toTerminal(text);
    },
    openQuestion: (persona, callId) => openQuestion(screen, queue, writer, ansi, callId === undefined ? undefined : callLines.get(callId), persona),
    idle: queue.idle,
  };
}

/** Each persona's colour: the configured one, else the next of the palette. */
function personaStyles(configured: Record<string, string> | undefined): (persona: string) => Style {
  const colors = new Map<string, Style>();
  for (const [persona, name] of Object.entries(configured ?? {})) if (isStyle(name)) colors.set(persona, name);
  return (persona) => {
    let style = colors.get(persona);
    if (!style) {
      style = PALETTE[colors.size % PALETTE.length] ?? "cyan";
      colors.set(persona, style);
    }
    return style;
  };
}

/** Opens a question: replies cut mid-line end their line, the call's line is shown right above, output is held. */
function openQuestion(
  screen: ConsoleScreen,
  queue: BlockQueue,
  writer: BlockWriter,
  ansi: Ansi,
  callLine: { persona: string; text: TerminalText } | undefined,
  persona: string,
): QuestionScreen {
  // A reply cut off mid-line ends its line first, so that it goes on under its prefix afterwards.
  for (const block of queue.blocks.values()) if (block.live && !block.ended) writer.endLine(block);
  screen.clearStatus();
  if (screen.wroteSomething && !screen.endsWith("\n")) screen.direct(ansi.text("\n"));
  if (callLine && callLine.persona === persona && !screen.endsWith(callLine.text)) screen.direct(callLine.text);
  screen.hold();
  let closed = false;
  return {
    say: (text, style) => screen.direct(ansi.join(ansi.text(text, style), ansi.text("\n"))),
    prompt: (text, style) => ansi.text(text, style),
    close() {
      if (closed) return;
      closed = true;
      screen.release();
    },
  };
}

type HandlerParts = {
  ansi: Ansi;
  queue: BlockQueue;
  writer: BlockWriter;
  /** Each shown call's `⚙` line as written, until its result: an approval question shows it right above. */
  callLines: Map<string, { persona: string; text: TerminalText }>;
  now: () => number;
  /** The longest persona name so far: prefixes are padded to it. */
  width: { value: number };
  startStatus: () => void;
  toolOutputs?: ToolOutputs;
};

/** Turns each room event into block output: reply events into their reply's block, the rest into notices. */
function roomEventHandler(parts: HandlerParts): (event: RoomEvent) => void {
  const { ansi, queue, writer } = parts;
  const turnErrors = new Map<string, string>();
  // Blocks whose last output was a tool's line (call, result, progress).
  const afterToolLine = new WeakSet<Block>();
  const show = (event: RoomEvent & { replyId: string; persona: string }) => {
    const block = queue.blockOf(event.replyId, event.persona);
    block.waiting = undefined;
    queue.request(block);
    return block;
  };
  return (event) => {
    switch (event.type) {
      case "turn-start":
        turnErrors.clear();
        break;
      case "reply-start":
        parts.width.value = Math.max(parts.width.value, event.persona.length);
        queue.newBlock(event.replyId, event.persona, event.destination !== "console");
        break;
      case "waiting":
        onWaiting(parts, event);
        break;
      case "text-delta":
      case "reasoning-delta": {
        const block = queue.blockOf(event.replyId, event.persona);
        block.waiting = undefined;
        if (block.toFile) break;
        const channel = event.type === "text-delta" ? "text" : "reasoning";
        // A new round's paragraph break after a tool's lines: the console has already begun a line of its own.
        const text = block.channel === undefined && block.atLineStart && afterToolLine.has(block) ? event.text.replace(/^\n+/, "") : event.text;
        if (text === "") break;
        queue.request(block);
        writer.stream(block, text, channel);
        break;
      }
      case "tool-call": {
        const block = show(event);
        onToolCall(parts, block, event);
        afterToolLine.add(block);
        break;
      }
      case "tool-result": {
        const block = queue.blockOf(event.replyId, event.persona);
        queue.request(block);
        parts.callLines.delete(event.call.id);
        const number = parts.toolOutputs?.add(event.replyId, event.persona, event);
        // The result's line, then the first lines of what it printed; `/output N` shows the whole.
        for (const line of [toolResultLine(event, number), ...toolOutputPreview(event, number)]) writer.line(block, line.text, line.style);
        afterToolLine.add(block);
        break;
      }
      case "progress": {
        const line = progressLine(event);
        const block = show(event);
        writer.line(block, line.text, line.style);
        afterToolLine.add(block);
        break;
      }
      case "file-written": {
        const block = queue.blockOf(event.replyId, event.persona);
        queue.request(block);
        writer.line(block, `→ reply written to ${event.path} (${event.bytes} bytes)`);
        break;
      }
      case "error":
        onError(parts, turnErrors, event);
        break;
      case "reply-end":
        onReplyEnd(parts, event);
        break;
      default: {
        const line = roomNoticeLine(event);
        if (line) queue.notice(ansi.text(line.text, line.style));
      }
    }
  };
}

function onWaiting(parts: HandlerParts, event: Extract<RoomEvent, { type: "waiting" }>): void {
  const block = parts.queue.blockOf(event.replyId, event.persona);
  if (block.waiting !== event.reason) {
    block.waitingSince = parts.now();
    block.slowSaid = false;
  }
  block.waiting = event.reason;
  if (!block.requested) parts.startStatus();
}

function onToolCall(parts: HandlerParts, block: Block, event: Extract<RoomEvent, { type: "tool-call" }>): void {
  const { ansi, writer } = parts;
  writer.endLine(block);
  // Kept as written, so an approval question can show this very line right above it.
  const captured: TerminalText[] = [];
  const saved = { live: block.live, buffer: block.buffer };
  block.live = false;
  block.buffer = captured;
  const summary = toolCallSummary(event.call);
  writer.line(block, `⚙ ${event.call.name} ${summary === undefined ? callPreview(event.call) : oneLine(summary, CALL_SUMMARY_WIDTH)}`, "dim");
  block.live = saved.live;
  block.buffer = saved.buffer;
  const rendered = ansi.join(...captured);
  parts.callLines.set(event.call.id, { persona: event.persona, text: rendered });
  parts.queue.out(block, rendered);
}

function onError(parts: HandlerParts, turnErrors: Map<string, string>, event: Extract<RoomEvent, { type: "error" }>): void {
  const { ansi, queue } = parts;
  if (!event.replyId || !event.persona) {
    const line = roomNoticeLine(event);
    if (line) queue.notice(ansi.text(line.text, line.style));
    return;
  }
  const block = queue.blockOf(event.replyId, event.persona);
  block.waiting = undefined;
  queue.request(block);
  // A stop the user asked for is said once, by the chat loop; each stopped reply just ends.
  if (event.kind === "aborted") return;
  // Several personas on one server often fail alike (a missing model): the message is shown once a turn.
  const first = turnErrors.get(event.message);
  if (first === undefined) turnErrors.set(event.message, event.persona);
  parts.writer.line(block, first === undefined ? `✗ ${event.message}` : `✗ the same error as ${first}`, "red");
}

function onReplyEnd(parts: HandlerParts, event: Extract<RoomEvent, { type: "reply-end" }>): void {
  const { queue, writer } = parts;
  const block = queue.blockOf(event.replyId, event.persona);
  block.waiting = undefined;
  if (!block.toFile || event.stats.completionTokens > 0) {
    writer.endLine(block);
    writer.line(block, formatStats(event.stats), "gray", "╰");
  }
  queue.end(block);
  queue.blocks.delete(event.replyId);
}
