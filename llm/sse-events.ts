import { createParser, type EventSourceParser, type ParseError } from "eventsource-parser";

/** Where an event's data is: `text` from `start` to `end` (offsets, so the text is not sliced to read it). */
export type EventData = (text: string, start: number, end: number) => void;

/**
 * Reads the whole event that starts at `at` of `text` itself when it is one the reader knows, one line `data: …` and a
 * blank line, all of it in `text`; returns where the event ends (after its blank line), or -1 to leave it to SseEvents.
 */
export type KnownEvent = (text: string, at: number) => number;

/**
 * The SSE events of a stream fed in decoded pieces, each event's data handed on in order. The usual event, one line
 * `data: …` and a blank line, is found in the piece itself and handed on as offsets into it: a slice of a large
 * string is copied on its first read, which made every event cost a copy and an allocation. Every other event (more
 * lines, other fields, comments, `data:` without a space, an empty data line) goes through eventsource-parser as a
 * whole block, and a stream with a carriage return anywhere goes through it from there on; the events and their data
 * are the parser's either way (sse-events.property.test.ts). Before it looks for an event's end, the reader's `known`
 * may read the event whole (a stream's template, chunk-template.ts): one comparison of the event's fixed text instead
 * of two scans of it.
 */
export class SseEvents {
  readonly #parser: EventSourceParser;
  #held = "";
  #parserOnly = false;
  #ending = false;

  constructor(
    private readonly onData: EventData,
    onError: (error: ParseError) => void,
    private readonly known: KnownEvent = () => -1,
  ) {
    // A stream cut inside a field's name ("da" of "data:") leaves a last line the parser calls an unknown field: that is
    // the stream ending early, which the reader says as an interruption (nothing finished it), not a malformed stream.
    const error = (parseError: ParseError) => {
      if (this.#ending && parseError.type === "unknown-field" && cutFieldName(parseError.field, parseError.value)) return;
      onError(parseError);
    };
    this.#parser = createParser({ onEvent: (event) => onData(event.data, 0, event.data.length), onError: error });
  }

  /** Reads a decoded piece; `stopped` ends the reading between events. */
  feed(piece: string, stopped: () => boolean): void {
    if (this.#parserOnly || piece.includes("\r")) {
      this.#toParser(piece);
      return;
    }
    let from = 0;
    if (this.#held !== "") {
      // The event the held text began ends at the first blank line: read it alone, so the piece is not copied.
      const blank = piece.indexOf("\n\n");
      const cut = this.#held.endsWith("\n") && piece.startsWith("\n") ? 1 : blank < 0 ? -1 : blank + 2;
      if (cut < 0) {
        this.#held += piece;
        return;
      }
      const head = this.#held + piece.slice(0, cut);
      this.#held = "";
      this.#blocks(head, 0, stopped);
      from = cut;
    }
    this.#blocks(piece, from, stopped);
  }

  /** Reads what is held as a last event, as if the stream had ended with a blank line. */
  end(stopped: () => boolean): void {
    this.#ending = true;
    if (this.#parserOnly) this.#parser.feed("\n\n");
    else if (this.#held !== "") this.feed("\n\n", stopped);
  }

  #blocks(text: string, from: number, stopped: () => boolean): void {
    let at = from;
    while (!stopped()) {
      const knownEnd = this.known(text, at);
      if (knownEnd >= 0) {
        at = knownEnd;
        continue;
      }
      const end = text.indexOf("\n\n", at);
      if (end < 0) break;
      if (end - at > 6 && text.startsWith("data: ", at) && text.indexOf("\n", at) === end) this.onData(text, at + 6, end);
      else this.#parser.feed(text.slice(at, end + 2));
      at = end + 2;
    }
    this.#held = stopped() ? "" : text.slice(at);
  }

  /** From here on the parser reads everything: the held text first. */
  #toParser(piece: string): void {
    if (!this.#parserOnly) {
      this.#parserOnly = true;
      if (this.#held !== "") this.#parser.feed(this.#held);
      this.#held = "";
    }
    feedSplit(this.#parser, piece);
  }
}

/**
 * Feeds `text` in two parts: up to its first line end, then the rest. The parser joins a held partial line with the
 * next text it is fed before reading on; fed whole, that join copies the whole piece (hundreds of kB a read), fed so,
 * only the line that completes it. The parser reads the same either way.
 */
function feedSplit(parser: EventSourceParser, text: string): void {
  const lineEnd = text.indexOf("\n");
  if (lineEnd < 0 || lineEnd === text.length - 1) {
    parser.feed(text);
    return;
  }
  parser.feed(text.slice(0, lineEnd + 1));
  parser.feed(text.slice(lineEnd + 1));
}

const FIELD_NAMES = ["data", "event", "id", "retry"];

/** Whether a last line with no colon is the start of a field's name, as a stream cut inside it leaves. */
function cutFieldName(field: string | undefined, value: string | undefined): boolean {
  return field !== undefined && field !== "" && (value ?? "") === "" && FIELD_NAMES.some((name) => name.startsWith(field) && name !== field);
}
