/** A chunked body org cannot read (RFC 9112, section 7.1): the message says where it broke. */
export class ChunkedBodyError extends Error {
  override name = "ChunkedBodyError";
}

/** A chunk-size or trailer line longer than this is no chunked body. */
const MOST_LINE_BYTES = 4096;
/** Hex digits a chunk size may have (2^48 bytes: no model server sends more). */
const MOST_SIZE_DIGITS = 12;

const LF = "\n".charCodeAt(0);
const CR = "\r".charCodeAt(0);
const SEMICOLON = ";".charCodeAt(0);
const NO_DATA = new Uint8Array(0);

/** The value of a hex digit's byte, or -1. */
function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Takes a chunked body as it arrives, in pieces split anywhere, and gives the data each piece carries as one array, a
 * view of the piece: when the data comes in several runs (a server that writes an event a chunk puts hundreds in a
 * read), they are moved together to the piece's start, over the chunk-size lines already read. So a piece handed in is
 * the decoder's to change. `done` once the last chunk and its trailers are read; what follows is ignored.
 */
export class ChunkedBody {
  #state: "size" | "extension" | "data" | "data-end" | "trailer" | "done" = "size";
  #size = 0;
  #digits = 0;
  #lineBytes = 0;

  get done(): boolean {
    return this.#state === "done";
  }

  /** Set once the body broke: what came before it was handed on, nothing after. */
  failure: ChunkedBodyError | undefined;

  /** The chunk data in `piece`, up to where the body broke, if it did (then `failure` says how). */
  push(piece: Uint8Array): Uint8Array {
    // The data is moved together to the piece's start as it is found: `out` bytes so far, and the first run kept
    // as it is when it is the only one (no move).
    let out = 0;
    let runs = 0;
    let firstStart = 0;
    let at = 0;
    try {
      while (at < piece.length && this.#state !== "done" && !this.failure) {
        if (this.#state === "data") {
          const end = Math.min(piece.length, at + this.#size);
          if (runs === 0) firstStart = at;
          else {
            if (runs === 1) piece.copyWithin(0, firstStart, firstStart + out);
            // copyWithin is a memmove, several times cheaper per call than Buffer#copy or set().
            piece.copyWithin(out, at, end);
          }
          runs += 1;
          out += end - at;
          this.#size -= end - at;
          at = end;
          if (this.#size === 0) this.#state = "data-end";
        } else {
          const next = this.#wholeSizeLine(piece, at);
          at = next >= 0 ? next : this.#readLineByte(piece[at] ?? 0, at);
        }
      }
    } catch (error) {
      if (!(error instanceof ChunkedBodyError)) throw error;
      this.failure = error;
    }
    if (runs === 0) return NO_DATA;
    return runs === 1 ? piece.subarray(firstStart, firstStart + out) : piece.subarray(0, out);
  }

  /**
   * The usual case read at once: a data end (if one is due) and a whole size line of a chunk with data, all in
   * `piece`; where its data starts, or -1 for anything else (read byte by byte).
   */
  #wholeSizeLine(piece: Uint8Array, from: number): number {
    let at = from;
    if (this.#state === "data-end") {
      if (piece[at] !== CR || piece[at + 1] !== LF) return -1;
      at += 2;
    } else if (this.#state !== "size" || this.#digits > 0 || this.#lineBytes > 0) return -1;
    let size = 0;
    const start = at;
    for (let value = hexValue(piece[at] ?? -1); value >= 0 && at - start < MOST_SIZE_DIGITS; value = hexValue(piece[at] ?? -1)) {
      size = size * 16 + value;
      at += 1;
    }
    if (at === start || size === 0 || piece[at] !== CR || piece[at + 1] !== LF) return -1;
    this.#size = size;
    this.#state = "data";
    return at + 2;
  }

  /** Reads one byte of a size line, an extension, a data end or a trailer line; returns where to read next. */
  #readLineByte(byte: number, at: number): number {
    if (byte !== LF && byte !== CR && ++this.#lineBytes > MOST_LINE_BYTES) {
      throw new ChunkedBodyError(`a chunk-size or trailer line is over ${MOST_LINE_BYTES} bytes`);
    }
    if (byte === CR) return at + 1;
    if (this.#state === "data-end") {
      if (byte !== LF) throw new ChunkedBodyError("a chunk's data did not end where its size said");
      this.#state = "size";
    } else if (byte === LF) this.#endLine();
    else if (this.#state === "trailer" || this.#state === "extension") return at + 1;
    else if (byte === SEMICOLON && this.#digits > 0) this.#state = "extension";
    else {
      // Chunk extensions (";name=value") are allowed and mean nothing here.
      const value = hexValue(byte);
      if (value < 0) throw new ChunkedBodyError(`a chunk size is not hexadecimal: it holds ${JSON.stringify(String.fromCharCode(byte))}`);
      if (++this.#digits > MOST_SIZE_DIGITS) throw new ChunkedBodyError(`a chunk size has over ${MOST_SIZE_DIGITS} hex digits`);
      this.#size = this.#size * 16 + value;
    }
    return at + 1;
  }

  #endLine(): void {
    const lineBytes = this.#lineBytes;
    this.#lineBytes = 0;
    if (this.#state === "trailer") {
      if (lineBytes === 0) this.#state = "done";
      return;
    }
    if (this.#digits === 0) throw new ChunkedBodyError("a chunk size line holds no size");
    this.#digits = 0;
    this.#state = this.#size === 0 ? "trailer" : "data";
  }
}
