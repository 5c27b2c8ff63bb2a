import { COMPRESSED_RUNS, isDumpLine, mayBeDumpLine } from "./secret-renderings.ts";

/** A line begun that is still a dump's line past this many characters is one whatever follows (hex, then its text column). */
const LONGEST_LINE_LOOKED_AT = 4096;

type RunKind = (typeof COMPRESSED_RUNS)[number];
/** One kind of compressed run as the stream is read: one still open (where it starts, the padding it has had), and the last characters read. */
type RunWatch = { kind: RunKind; open?: { start: number; padding: number }; recent: string };

/**
 * The renderings of a stream whose redaction more text can still change, followed as the text arrives, each piece read
 * once: a dump (`xxd`, `od -c`, `hexdump -C`, …) whose lines reach the end, from its first line (the whole-text
 * redactor hides every line that holds a secret's bytes, the earlier ones too, once a later line completes it), and a
 * gzip stream in base64 or base32 that reaches the end (hidden whole once it inflates to a secret). Offsets count from
 * the stream's start.
 */
export class UnfinishedRenderings {
  /** How much of the stream has been read. */
  #read = 0;
  /** Where the current line starts, what of it has come while it may be a dump's line, and whether it may. */
  #line = { start: 0, text: "", maybe: true };
  /** Where the run of whole dump lines just before the current line starts. */
  #dumpFrom: number | undefined;
  #runs: RunWatch[] = COMPRESSED_RUNS.map((kind) => ({ kind, recent: "" }));

  /** Reads the next piece of the stream. */
  push(text: string): void {
    for (let index = 0; index < text.length; ) {
      const newline = text.indexOf("\n", index);
      this.#extendLine(text.slice(index, newline === -1 ? text.length : newline));
      if (newline === -1) break;
      this.#endLine(this.#read + newline + 1);
      index = newline + 1;
    }
    for (const watch of this.#runs) this.#readRun(watch, text);
    this.#read += text.length;
  }

  /** Where the stream must be held from (an offset from its start), or undefined when nothing read is unfinished. */
  holdFrom(): number | undefined {
    const starts: number[] = [];
    if (this.#line.maybe && (this.#line.text !== "" || this.#dumpFrom !== undefined)) starts.push(this.#dumpFrom ?? this.#line.start);
    for (const { kind, open, recent } of this.#runs) {
      if (open) starts.push(open.start);
      else
        for (let length = Math.min(recent.length, kind.opening.length - 1); length > 0; length -= 1)
          if (recent.endsWith(kind.opening.slice(0, length))) {
            starts.push(this.#read - length);
            break;
          }
    }
    return starts.length === 0 ? undefined : Math.min(...starts);
  }

  #extendLine(piece: string): void {
    const line = this.#line;
    if (piece === "" || !line.maybe) return;
    if (line.text.length > LONGEST_LINE_LOOKED_AT) return;
    line.text += piece;
    // A dump's line this long is one by its text column, which anything extends.
    line.maybe = line.text.length > LONGEST_LINE_LOOKED_AT ? isDumpLine(line.text) : mayBeDumpLine(line.text);
    if (!line.maybe) line.text = "";
  }

  #endLine(next: number): void {
    const line = this.#line;
    if (line.maybe && isDumpLine(line.text)) this.#dumpFrom ??= line.start;
    else this.#dumpFrom = undefined;
    this.#line = { start: next, text: "", maybe: true };
  }

  /** Follows one kind of compressed run through `text`: its openings, its body, its padding, and what ends it. */
  #readRun(watch: RunWatch, text: string): void {
    const { kind } = watch;
    for (let index = 0; index < text.length; ) {
      const open = watch.open;
      if (open) {
        const character = text.charAt(index);
        if (open.padding === 0 && kind.body.test(character)) index += 1;
        else if (character === "=" && open.padding < kind.padding) {
          open.padding += 1;
          index += 1;
        } else delete watch.open;
        continue;
      }
      // An opening may have begun in the last characters of the piece before.
      const before = index === 0 ? watch.recent : "";
      const at = (before + text.slice(index)).indexOf(kind.opening);
      if (at === -1) break;
      watch.open = { start: this.#read + index - before.length + at, padding: 0 };
      index += at - before.length + kind.opening.length;
    }
    watch.recent = (watch.recent + text).slice(-(kind.opening.length - 1));
  }
}
