import { appendHistory, HISTORY_LIMIT, loadHistory } from "./input-history.ts";
import { type Key, KeyDecoder } from "./key-decoder.ts";
import { applyKey, type EditState, initialEditState, layoutInput } from "./line-editing.ts";

/** What one `readLine` ended with. */
/**
 * `interrupt` carries what was on the line, so the caller can tell "clear this line" from "stop"; `cancelled` is a read
 * whose `signal` aborted before anyone answered (a question settled elsewhere, or no longer waited for).
 */
export type ReadResult = { type: "line"; text: string } | { type: "interrupt"; text: string } | { type: "eof" } | { type: "cancelled" };

type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
/** Where the editor draws: a terminal (it may say when it is resized) or a test's sink. */
type Output = {
  write(text: string): unknown;
  columns?: number;
  isTTY?: boolean;
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
};

export type LineEditorOptions = {
  input?: Input;
  output?: Output;
  /** Where submitted lines are kept between sessions (e.g. `<workspace>/.org/history`); none when absent. */
  historyFile?: string;
  /** Tab completion for the text before the cursor; without it Tab inserts two spaces. */
  complete?: (before: string) => string | undefined;
  /** What of a submitted line the history keeps (the chat keeps pasted keys out of `.org/history`); default: the line. */
  historyEntry?: (line: string) => string;
  /** The clock (milliseconds) that bounds how long after a one-key answer its word's rest is dropped. */
  now?: () => number;
};

/** How long after a one-key answer the rest of its word, typed out of habit, is still taken for that. */
const HABIT_MS = 1_000;

export type ReadLineOptions = {
  /** Shown before continuation lines of multi-line input. */
  continuation?: string;
  /** Whether the submitted line joins the history (not for y/n answers). Default true. */
  remember?: boolean;
  /** Text already on the line when it opens, the cursor at its end (a message put back to edit). */
  initialText?: string;
  /**
   * Answers of one key, as the words they stand for (`["yes", "no"]`): on a terminal, typing a word's first
   * letter on an empty line submits that letter at once, without Enter, and the rest of the word and one
   * Enter typed out of habit right after it are dropped, so they do not land on the next prompt. Off a
   * terminal (a pipe) a line is read as always.
   */
  keys?: readonly string[];
  /** Ends the read as `cancelled` when it aborts, so the line is free for the next one (a question nobody waits for). */
  signal?: AbortSignal;
};

const BRACKETED_PASTE_ON = "\x1b[?2004h";
const BRACKETED_PASTE_OFF = "\x1b[?2004l";

/**
 * A line editor on a raw-mode terminal: history, cursor movement, multi-line input (trailing `\`,
 * Alt-Enter, bracketed paste). The editing itself lives in `line-editing.ts`; this class reads keys,
 * renders, and reports Ctrl-C to the caller: to `readLine`'s result while reading, to `onInterrupt`
 * while the caller is busy (e.g. a turn is streaming).
 */
export class LineEditor {
  private readonly input: Input;
  private readonly output: Output;
  private readonly decoder = new KeyDecoder();
  private history: string[] = [];
  private started = false;
  private queued: Key[] = [];
  private reading:
    | {
        state: EditState;
        prompt: string;
        continuation: string;
        remember: boolean;
        keys: readonly string[];
        renderedCursorRow: number;
        resolve: (result: ReadResult) => void;
      }
    | undefined;
  private interruptHandler: (() => void) | undefined;
  /** The rest of the word a one-key answer stood for: typed next, it is dropped, and so is one Enter. */
  private habitTail: { rest: string; until: number } | undefined;
  private historyWrites: Promise<void> = Promise.resolve();
  private readonly onData = (chunk: Buffer | string) => this.handleKeys(this.decoder.feed(chunk.toString()));
  private readonly onEnd = () => this.handleKeys([{ type: "eof" }]);
  private readonly onResize = () => this.render();
  private readonly restoreTerminal = () => {
    if (this.output.isTTY) this.output.write(BRACKETED_PASTE_OFF);
    if (this.input.isTTY) this.input.setRawMode?.(false);
  };

  constructor(private readonly options: LineEditorOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
  }

  /** Loads the history, switches the terminal to raw mode and starts listening. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.options.historyFile) this.history = await loadHistory(this.options.historyFile);
    if (this.input.isTTY) this.input.setRawMode?.(true);
    if (this.output.isTTY) this.output.write(BRACKETED_PASTE_ON);
    // However the process ends, the user's terminal must not be left in raw mode.
    process.once("exit", this.restoreTerminal);
    this.output.on?.("resize", this.onResize);
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.resume();
  }

  /** Called when Ctrl-C arrives while no line is being read. */
  onInterrupt(handler: (() => void) | undefined): void {
    this.interruptHandler = handler;
  }

  /**
   * Passes a Ctrl-C on to the `onInterrupt` handler, for a caller whose own `readLine` got it (a question
   * asked in the middle of a turn, whose Ctrl-C should stop the turn as it would between questions).
   */
  interrupt(): void {
    this.interruptHandler?.();
  }

  /** Shows `prompt` and edits one input until Enter, Ctrl-C or Ctrl-D on an empty line. */
  readLine(prompt: string, options: ReadLineOptions = {}): Promise<ReadResult> {
    if (this.reading) return Promise.reject(new Error("readLine is already waiting for input"));
    if (options.signal?.aborted) return Promise.resolve({ type: "cancelled" });
    return new Promise((resolve) => {
      const { signal } = options;
      const onAbort = () => {
        if (this.reading?.resolve === settle) this.finish({ type: "cancelled" }, "\r\n");
      };
      const settle = (result: ReadResult) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.reading = {
        state: {
          ...initialEditState(options.remember === false ? [] : this.history),
          text: options.initialText ?? "",
          cursor: (options.initialText ?? "").length,
        },
        prompt,
        continuation: options.continuation ?? "… ",
        remember: options.remember !== false,
        keys: this.input.isTTY ? (options.keys ?? []).map((key) => key.toLowerCase()) : [],
        renderedCursorRow: 0,
        resolve: settle,
      };
      this.render();
      const queued = this.queued;
      this.queued = [];
      this.handleKeys(queued);
    });
  }

  /**
   * Writes output that arrives while a line may be open (a server's notice, a promotion): on a terminal, the prompt and
   * what was typed so far are taken away, the text is written where they were, and both are drawn again below it,
   * the cursor where it was. With no line open, or off a terminal, the text is written as it is.
   */
  writeAbove(text: string): void {
    const reading = this.reading;
    if (!reading || !this.output.isTTY || text === "") {
      this.output.write(text);
      return;
    }
    let sequence = "";
    if (reading.renderedCursorRow > 0) sequence += `\x1b[${reading.renderedCursorRow}A`;
    // The output starts on the prompt's first row and ends a line of its own, so the prompt comes back whole under it.
    this.output.write(`${sequence}\r\x1b[J${text}${text.endsWith("\n") ? "" : "\r\n"}`);
    reading.renderedCursorRow = 0;
    this.render();
  }

  /** Whether `keys` answers take one key here (input is a terminal) or need Enter too. */
  /** Whether its input is a terminal (a person typing), not a pipe or a file a script fills. */
  get inTerminal(): boolean {
    return Boolean(this.input.isTTY);
  }

  get answersWithOneKey(): boolean {
    return Boolean(this.input.isTTY);
  }

  /** The submitted lines so far, oldest first. */
  entries(): readonly string[] {
    return this.history;
  }

  /** Restores the terminal and stops listening; a pending `readLine` ends as eof. Resolves once history is saved. */
  close(): Promise<void> {
    if (!this.started) return this.historyWrites;
    this.started = false;
    this.output.off?.("resize", this.onResize);
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    process.off("exit", this.restoreTerminal);
    this.restoreTerminal();
    this.input.pause();
    const reading = this.reading;
    this.reading = undefined;
    reading?.resolve({ type: "eof" });
    return this.historyWrites;
  }

  /** Whether `key` is the rest of a one-key answer's word (or the Enter after it), typed out of habit. */
  private typedOutOfHabit(key: Key): boolean {
    const tail = this.habitTail;
    if (tail === undefined) return false;
    this.habitTail = undefined;
    if ((this.options.now ?? performance.now)() > tail.until) return false;
    if (key.type === "text" && key.text !== "" && tail.rest.startsWith(key.text.toLowerCase())) {
      this.habitTail = { ...tail, rest: tail.rest.slice(key.text.length) };
      return true;
    }
    return key.type === "enter";
  }

  private handleKeys(keys: Key[]): void {
    let dirty = false;
    for (const key of keys) {
      if (this.typedOutOfHabit(key)) continue;
      const reading = this.reading;
      if (!reading) {
        if (key.type === "interrupt" && this.interruptHandler) this.interruptHandler();
        // Type-ahead while busy (and a Ctrl-C nobody listens for yet) waits for the next prompt.
        else this.queued.push(key);
        continue;
      }
      const word =
        key.type === "text" && reading.state.text === "" ? reading.keys.find((entry) => entry.charAt(0) === key.text.toLowerCase()) : undefined;
      if (word !== undefined && key.type === "text") {
        reading.state = { ...reading.state, text: key.text, cursor: key.text.length };
        this.habitTail = { rest: word.slice(1), until: (this.options.now ?? performance.now)() + HABIT_MS };
        this.finish({ type: "line", text: key.text }, "\r\n");
        continue;
      }
      const { state, outcome } = applyKey(reading.state, key, reading.remember ? this.options.complete : undefined);
      reading.state = state;
      switch (outcome.type) {
        case "edit":
          // Render once per chunk, not per key: a paste is one render.
          dirty = true;
          break;
        case "clear-screen":
          this.output.write("\x1b[2J\x1b[H");
          reading.renderedCursorRow = 0;
          this.render();
          break;
        case "submit": {
          this.finish({ type: "line", text: outcome.text }, "\r\n");
          const entry = this.options.historyEntry ? this.options.historyEntry(outcome.text) : outcome.text;
          if (reading.remember && entry.trim() && this.history.at(-1) !== entry) {
            this.history.push(entry);
            if (this.history.length > HISTORY_LIMIT) this.history.shift();
            const file = this.options.historyFile;
            if (file) {
              this.historyWrites = this.historyWrites
                .then(() => appendHistory(file, entry))
                .catch((error: unknown) => {
                  this.output.write(`(could not save input history: ${error instanceof Error ? error.message : String(error)})\r\n`);
                });
            }
          }
          break;
        }
        case "interrupt":
          this.finish({ type: "interrupt", text: state.text }, "^C\r\n");
          break;
        case "eof":
          this.finish({ type: "eof" }, "\r\n");
          break;
      }
    }
    if (dirty) this.render();
  }

  private finish(result: ReadResult, trailer: string): void {
    const reading = this.reading;
    if (!reading) return;
    reading.state = { ...reading.state, cursor: reading.state.text.length };
    if (this.output.isTTY) this.render();
    else this.output.write(`${reading.prompt}${reading.state.text}`);
    this.output.write(this.output.isTTY ? trailer : trailer.replace(/\r/g, ""));
    this.reading = undefined;
    reading.resolve(result);
  }

  private render(): void {
    const reading = this.reading;
    if (!reading) return;
    // Not a terminal (a pipe, a log): no cursor games, just the prompt and the finished line.
    if (!this.output.isTTY) return;
    const columns = this.output.columns && this.output.columns > 0 ? this.output.columns : 80;
    const layout = layoutInput(reading.prompt, reading.continuation, reading.state.text, reading.state.cursor, columns, Bun.stringWidth);
    let sequence = "";
    if (reading.renderedCursorRow > 0) sequence += `\x1b[${reading.renderedCursorRow}A`;
    sequence += "\r\x1b[J";
    sequence += layout.output;
    const up = layout.rows - 1 - layout.cursorRow;
    if (up > 0) sequence += `\x1b[${up}A`;
    sequence += "\r";
    if (layout.cursorColumn > 0) sequence += `\x1b[${layout.cursorColumn}C`;
    reading.renderedCursorRow = layout.cursorRow;
    this.output.write(sequence);
  }
}
