import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import type { Ansi, Style, TerminalText } from "../terminal/ansi.ts";
import { wrapAt } from "../terminal/wrap-line.ts";

/** One reply's lines on the console (or a one-off notice): where its output goes and where its cursor is. */
export type Block = {
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

/** A block with nothing written yet, not holding the console. */
export function emptyBlock(persona: string, toFile: boolean): Block {
  return {
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
}

export type BlockWriter = {
  /** Ends the block's current line (writing a held word first), if it has one. */
  endLine(block: Block): void;
  /** A line of its own in the block. */
  line(block: Block, text: string, style?: Style, bar?: string): void;
  /** Streamed text or reasoning: a change of channel starts a new line; a word at the end waits for the next piece. */
  stream(block: Block, text: string, channel: "text" | "reasoning"): void;
};

/** What a block writer writes with: the terminal's text, where pieces go, the speakers' styles and widths. */
export type BlockWriterOptions = {
  ansi: Ansi;
  out: (block: Block, text: TerminalText) => void;
  personaStyle: (persona: string) => Style;
  nameWidth: () => number;
  /** The terminal's width now; undefined (a pipe) wraps nothing. */
  columns?: (() => number | undefined) | undefined;
};

/** The block writer: each step (prefix, newline, held word, wrapped piece) a method of its own. */
class WrappingBlockWriter implements BlockWriter {
  constructor(private readonly options: BlockWriterOptions) {}

  endLine(block: Block): void {
    this.flushWord(block);
    if (!block.atLineStart) this.newline(block);
  }

  line(block: Block, text: string, style?: Style, bar = "│"): void {
    this.endLine(block);
    block.channel = undefined;
    this.put(block, text, style, bar, false);
    this.newline(block);
  }

  stream(block: Block, text: string, channel: "text" | "reasoning"): void {
    if (block.channel !== channel) this.endLine(block);
    block.channel = channel;
    this.put(block, text, channel === "reasoning" ? "dim" : undefined, channel === "reasoning" ? "┊" : "│", true);
  }

  private prefixText(persona: string, bar: string): string {
    return `${persona.padEnd(this.options.nameWidth())} ${bar} `;
  }

  private newline(block: Block): void {
    this.options.out(block, this.options.ansi.text("\n"));
    block.atLineStart = true;
    block.column = 0;
  }

  private flushWord(block: Block): void {
    const held = block.heldWord;
    if (!held) return;
    block.heldWord = undefined;
    this.put(block, held.text, held.style, held.bar, false);
  }

  private startLine(block: Block, bar: string): void {
    this.options.out(block, this.options.ansi.text(this.prefixText(block.persona, bar), this.options.personaStyle(block.persona)));
    block.atLineStart = false;
    block.column = 0;
  }

  /** One line's piece (no newline in it), wrapped: a new prefixed line wherever the width runs out. */
  private putPiece(block: Block, piece: string, style: Style | undefined, bar: string, columns: number | undefined): void {
    let rest = piece;
    while (rest !== "") {
      if (block.atLineStart) this.startLine(block, bar);
      const room = columns ? columns - Bun.stringWidth(this.prefixText(block.persona, bar)) - block.column : Number.POSITIVE_INFINITY;
      const [head, tail] = wrapAt(rest, room, block.column > 0);
      if (head !== "") {
        this.options.out(block, this.options.ansi.text(head, style));
        block.column += Bun.stringWidth(head);
      }
      rest = tail;
      if (rest !== "" || head === "") this.newline(block);
    }
  }

  /**
   * Writes `text` into the block. While streaming (`holdWord`), a word at the end waits for the next
   * piece, since it may go on there and should not be split by a wrap.
   */
  private put(block: Block, text: string, style: Style | undefined, bar: string, holdWord: boolean): void {
    let shown = sanitizeForTerminal(text);
    const held = block.heldWord;
    if (held && held.style === style && held.bar === bar) {
      block.heldWord = undefined;
      shown = held.text + shown;
    } else this.flushWord(block);
    const columns = this.options.columns?.();
    if (holdWord && columns) {
      const word = /\S+$/.exec(shown);
      if (word) {
        block.heldWord = { text: word[0], style, bar };
        shown = shown.slice(0, word.index);
      }
    }
    const pieces = shown.split("\n");
    pieces.forEach((piece, index) => {
      const last = index === pieces.length - 1;
      // An empty line inside the text still shows its speaker.
      if (block.atLineStart && (piece !== "" || !last)) this.startLine(block, bar);
      this.putPiece(block, piece, style, bar, columns);
      if (!last) this.newline(block);
    });
  }
}

/**
 * Writes text into blocks: sanitized first, wrapped at the terminal's width between words, every line
 * under the speaker's prefix (`name │ `, names padded to `nameWidth()`). `out` gets the block's pieces.
 */
export function createBlockWriter(options: BlockWriterOptions): BlockWriter {
  const writer = new WrappingBlockWriter(options);
  // Own, bound functions: callers may pass them around or spread the writer.
  return {
    endLine: (block) => writer.endLine(block),
    line: (block, text, style, bar) => writer.line(block, text, style, bar),
    stream: (block, text, channel) => writer.stream(block, text, channel),
  };
}
