import { ChannelLock } from "../concurrency/channel-lock.ts";
import type { PersonaStats, RoomEvent } from "../room/room-event.ts";

const ANSI: Record<string, string> = {
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  white: "37",
  gray: "90",
};
const PALETTE = ["cyan", "yellow", "magenta", "green", "blue", "red"];
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

type Block = {
  persona: string;
  toFile: boolean;
  buffer: string[];
  live: boolean;
  requested: boolean;
  ended: boolean;
  atLineStart: boolean;
  channel: "text" | "reasoning" | undefined;
  waiting: "queued" | "first-token" | undefined;
};

export type ConsoleRenderer = {
  /** Takes one room event; output appears at once for the block that holds the console, later for others. */
  handle(event: RoomEvent): void;
  /** Resolves once every block that has output has been written out in full. */
  idle(): Promise<void>;
};

function formatStats(stats: PersonaStats): string {
  const parts = [`${stats.completionTokens} tok`];
  if (stats.tokensPerSecond > 0) parts.push(`${stats.tokensPerSecond} tok/s`);
  if (stats.firstTokenMs !== null) parts.push(`first token ${stats.firstTokenMs} ms`);
  if (stats.queuedMs >= 50) parts.push(`queued ${stats.queuedMs} ms`);
  parts.push(`${(stats.durationMs / 1000).toFixed(1)} s`);
  return parts.join(" · ");
}

// A failed tool's message often says how to fix the failure; it gets room for that.
const FAILURE_WIDTH = 400;

/** A failed tool's output without the "Error: NAME" the model is given, since the line already names the tool. */
function failureText(name: string, output: string): string {
  const text = output.replace(/^Error: /, "");
  return text.startsWith(`${name} `) ? text.slice(name.length + 1) : text;
}

function oneLine(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Renders room events to one console: each persona's reply is a block of lines prefixed with its name.
 * Concurrent replies never interleave: the block holding the ChannelLock streams live, the others buffer
 * and follow in the order their first output came. With `color`, a spinner shows who is still thinking.
 */
export function createConsoleRenderer(options: {
  write: (text: string) => void;
  color: boolean;
  /** Colour names per persona (red, green, yellow, blue, magenta, cyan, white, gray). */
  personaColors?: Record<string, string>;
}): ConsoleRenderer {
  const { write, color } = options;
  const lock = new ChannelLock();
  const blocks = new Map<string, Block>();
  const colors = new Map<string, string>(Object.entries(options.personaColors ?? {}));
  const width = { value: 0 };
  let unfinished = 0;
  let idleWaiters: (() => void)[] = [];
  let statusShown = false;
  let spinnerTimer: ReturnType<typeof setInterval> | undefined;
  let spinnerFrame = 0;

  const paint = (code: string | undefined, text: string) => (color && code ? `\x1b[${code}m${text}\x1b[0m` : text);
  const personaCode = (persona: string) => {
    let name = colors.get(persona);
    if (!name) {
      name = PALETTE[colors.size % PALETTE.length] as string;
      colors.set(persona, name);
    }
    return ANSI[name];
  };
  const prefix = (persona: string, bar = "│") => paint(personaCode(persona), `${persona.padEnd(width.value)} ${bar} `);

  const clearStatus = () => {
    if (statusShown) {
      write("\r\x1b[2K");
      statusShown = false;
    }
  };
  const rawWrite = (text: string) => {
    clearStatus();
    write(text);
  };
  const waitingBlocks = () => [...blocks.values()].filter((block) => block.waiting && !block.requested);
  const tickSpinner = () => {
    const waiting = waitingBlocks();
    if (waiting.length === 0) {
      if (spinnerTimer) clearInterval(spinnerTimer);
      spinnerTimer = undefined;
      clearStatus();
      return;
    }
    if (lock.isLocked) return;
    spinnerFrame = (spinnerFrame + 1) % SPINNER.length;
    const who = waiting.map((block) => `${block.persona} ${block.waiting === "queued" ? "queued" : "thinking"}`).join(" · ");
    write(`\r\x1b[2K${paint("90", `${SPINNER[spinnerFrame]} ${who}`)}`);
    statusShown = true;
  };
  const startSpinner = () => {
    if (!color || spinnerTimer) return;
    spinnerTimer = setInterval(tickSpinner, 100);
    spinnerTimer.unref?.();
  };

  const out = (block: Block, text: string) => {
    if (block.live) rawWrite(text);
    else block.buffer.push(text);
  };
  const endLine = (block: Block) => {
    if (!block.atLineStart) {
      out(block, "\n");
      block.atLineStart = true;
    }
  };
  const line = (block: Block, text: string, bar = "│") => {
    endLine(block);
    block.channel = undefined;
    out(block, `${prefix(block.persona, bar)}${text}\n`);
  };
  const stream = (block: Block, text: string, channel: "text" | "reasoning") => {
    if (block.channel !== channel) endLine(block);
    block.channel = channel;
    const bar = channel === "reasoning" ? "┊" : "│";
    const pieces = text.split("\n");
    pieces.forEach((piece, index) => {
      const last = index === pieces.length - 1;
      if (block.atLineStart && (piece !== "" || !last)) {
        out(block, prefix(block.persona, bar));
        block.atLineStart = false;
      }
      if (piece !== "") out(block, channel === "reasoning" ? paint("2", piece) : piece);
      if (!last) {
        out(block, "\n");
        block.atLineStart = true;
      }
    });
  };

  const settleIdle = () => {
    if (unfinished > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  // Output starts when a block has something to show; from then on it waits its turn for the console.
  const request = (block: Block, onGranted?: () => void) => {
    if (block.requested) return;
    block.requested = true;
    unfinished += 1;
    void lock.waitForLock(Number.POSITIVE_INFINITY).then((release) => {
      block.live = true;
      const buffered = block.buffer.join("");
      block.buffer = [];
      if (buffered) rawWrite(buffered);
      onGranted?.();
      const finish = () => {
        release();
        unfinished -= 1;
        settleIdle();
      };
      if (block.ended) finish();
      else (block as Block & { finish?: () => void }).finish = finish;
    });
  };
  const end = (block: Block) => {
    block.ended = true;
    request(block);
    const finish = (block as Block & { finish?: () => void }).finish;
    if (block.live && finish) finish();
  };

  // Lines that belong to no reply (mode changes, notices) queue for the console like a block of their own.
  let oneShots = 0;
  const notice = (text: string) => {
    const block = newBlock(`·notice-${oneShots++}`, "", false);
    block.buffer.push(`${text}\n`);
    block.atLineStart = true;
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
      channel: undefined,
      waiting: undefined,
    };
    blocks.set(key, block);
    return block;
  };
  const blockOf = (replyId: string, persona: string) => blocks.get(replyId) ?? newBlock(replyId, persona, false);

  const turnErrors = new Map<string, string>();
  return {
    handle(event) {
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
          block.waiting = event.reason;
          if (!block.requested) startSpinner();
          break;
        }
        case "text-delta":
        case "reasoning-delta": {
          const block = blockOf(event.replyId, event.persona);
          block.waiting = undefined;
          if (block.toFile) break;
          request(block);
          stream(block, event.text, event.type === "text-delta" ? "text" : "reasoning");
          break;
        }
        case "tool-call": {
          const block = blockOf(event.replyId, event.persona);
          block.waiting = undefined;
          request(block);
          line(block, paint("2", `⚙ ${event.call.name} ${oneLine(JSON.stringify(event.call.arguments), 100)}`));
          break;
        }
        case "tool-result": {
          const block = blockOf(event.replyId, event.persona);
          request(block);
          const lines = event.output === "" ? 0 : event.output.split("\n").length;
          line(
            block,
            event.ok
              ? paint("2", `✓ ${event.call.name} · ${event.durationMs} ms · ${lines} line${lines === 1 ? "" : "s"} of output`)
              : paint("31", `✗ ${event.call.name}: ${oneLine(failureText(event.call.name, event.output), FAILURE_WIDTH)}`),
          );
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
            block.waiting = undefined;
            request(block);
            // Several personas on one server often fail alike (a missing model): the message is shown once a turn.
            const first = turnErrors.get(event.message);
            if (first === undefined) turnErrors.set(event.message, event.persona);
            line(block, paint("31", first === undefined ? `✗ ${event.message}` : `✗ the same error as ${first}`));
          } else {
            notice(paint("31", `✗ ${event.persona ? `${event.persona}: ` : ""}${event.message}`));
          }
          break;
        }
        case "reply-end": {
          const block = blockOf(event.replyId, event.persona);
          block.waiting = undefined;
          if (!block.toFile || event.stats.completionTokens > 0) {
            endLine(block);
            line(block, paint("90", formatStats(event.stats)), "╰");
          }
          end(block);
          blocks.delete(event.replyId);
          break;
        }
        case "mode":
          notice(paint("90", `· mode is now ${event.mode}${event.by === "user" ? "" : ` (set by ${event.by})`}`));
          break;
        case "model-changed":
          notice(paint("90", `· ${event.persona} now uses ${event.model}`));
          break;
        case "notice":
          notice(paint("33", `· ${event.message}`));
          break;
        case "cleared":
          notice(paint("90", "· history cleared"));
          break;
        default:
          break;
      }
    },
    idle() {
      if (unfinished === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
