import type { ExtractedToolCall } from "./extract-tool-calls.ts";
import type { DeclaredTools } from "./call-shape.ts";
import { LiteralReader } from "./literal.ts";

/**
 * A stretch of the text that one format recognised: calls, a thought (`thought` set), or, with `calls`
 * empty, something to skip whole (code, data) that is neither.
 */
export type Block = { start: number; end: number; calls: ExtractedToolCall[]; thought?: string; strayClose?: boolean };

/** Everything the format readers share while scanning one text. */
export class ScanContext {
  readonly text: string;
  readonly reader: LiteralReader;
  readonly toolNames: DeclaredTools | undefined;
  #found = new Map<string, { from: number; index: number }>();

  constructor(text: string, toolNames: DeclaredTools | undefined) {
    this.text = text;
    this.reader = new LiteralReader(text);
    this.toolNames = toolNames;
  }

  /**
   * `text.indexOf(needle, from)`, remembered per needle so that the forward-moving scan searching for the
   * same closing tag again and again stays linear instead of rescanning the rest of the text each time.
   */
  nextIndex(needle: string, from: number): number {
    const known = this.#found.get(needle);
    if (known && known.from <= from && (known.index === -1 || known.index >= from)) return known.index;
    const index = this.text.indexOf(needle, from);
    this.#found.set(needle, { from, index });
    return index;
  }

  skipSpace(at: number): number {
    return this.reader.skipSpace(at);
  }

  /** Whether `text` at `at` starts with `word`, ignoring ASCII case. */
  startsWithIgnoringCase(word: string, at: number): boolean {
    const text = this.text;
    if (at + word.length > text.length) return false;
    for (let index = 0; index < word.length; index += 1) {
      if (asciiLower(text.charCodeAt(at + index)) !== asciiLower(word.charCodeAt(index))) return false;
    }
    return true;
  }
}

/** One embedded format: where it may start (a regex source without capturing groups) and how to read it. */
export type Format = {
  name: string;
  trigger: string;
  read: (context: ScanContext, at: number) => Block | undefined;
};

function asciiLower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}
