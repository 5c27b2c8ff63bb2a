import { readPrivateFileBackwards } from "../security/private-state.ts";
import { type TranscriptLine, transcriptLineSchema } from "./transcript-line.ts";
import { OrgError } from "../errors/org-error.ts";

/** Lines of a transcript from a turn's start on, read from the file's end backwards; `before` is where they begin. */
export type TranscriptPage = {
  lines: TranscriptLine[];
  /** Lines of this page that could not be read (a crash mid-write leaves at most the file's last one). */
  damagedLines: number;
  /** The byte offset the page begins at, to read the page before it; null when it begins at the file's start. */
  before: number | null;
};

/** What a page holds at least, and at most, unless one turn alone is longer. */
export type TranscriptPageRequest = {
  /** Read the lines before this offset (a page's `before`); the file's end when absent. */
  before?: number;
  /** Go back until the page holds this many messages, then to the start of that turn. */
  messages: number;
  /** Or until it holds this many bytes, then to the start of that turn. */
  maxBytes: number;
  /** Bytes read at a time (default 64 KiB). */
  chunkBytes?: number;
};

/** A page of a turn longer than this many times `maxBytes` begins inside it. */
const TURN_BYTES_FACTOR = 4;

/** A `before` that is no page's beginning in this file: not a line's start, or past its end (the file was replaced). */
export class TranscriptCursorError extends OrgError {
  override name = "TranscriptCursorError";
}

/** Where each line of `region` (whole lines; the last may lack its newline) begins, with its text, newest first. */
function linesNewestFirst(region: Buffer, offset: number): { at: number; text: string }[] {
  const found: { at: number; text: string }[] = [];
  let end = region.length;
  if (end > 0 && region[end - 1] === 0x0a) end -= 1;
  while (end >= 0) {
    const newline = end === 0 ? -1 : region.lastIndexOf(0x0a, end - 1);
    found.push({ at: offset + newline + 1, text: region.toString("utf8", newline + 1, end) });
    if (newline < 0) break;
    end = newline;
  }
  return found;
}

/**
 * The newest lines of a transcript (or those before `request.before`), from the start of a turn: enough whole turns to
 * hold `messages` messages or `maxBytes` bytes, read from the end of the file backwards, so a session of any length
 * opens at the cost of its last turns. Read synchronously: nothing is appended while it reads. Never through a link.
 */
export function readTranscriptPage(path: string, request: TranscriptPageRequest): TranscriptPage {
  const picked: TranscriptLine[] = [];
  let damagedLines = 0;
  let messages = 0;
  let bytes = 0;
  let begins = 0;
  let carry: Buffer[] = [];
  let checked = request.before === undefined;
  if (request.before === 0) return { lines: [], damagedLines: 0, before: null };
  const size = readPrivateFileBackwards(
    path,
    (chunk, at) => {
      if (!checked) {
        checked = true;
        if (at + chunk.length !== request.before || chunk[chunk.length - 1] !== 0x0a)
          throw new TranscriptCursorError(`${request.before} is not where a page of this transcript begins; open the session again.`);
      }
      // Before the first newline of a chunk that is not the file's start, a line goes on into the chunk before.
      const first = at === 0 ? -1 : chunk.indexOf(0x0a);
      if (at > 0 && first < 0) {
        carry.unshift(Buffer.from(chunk));
        return true;
      }
      const data = carry.length > 0 ? Buffer.concat([chunk, ...carry]) : chunk;
      carry = at > 0 ? [Buffer.from(chunk.subarray(0, first))] : [];
      for (const { at: lineAt, text } of linesNewestFirst(data.subarray(first + 1), at + first + 1)) {
        if (text.trim() === "") continue;
        bytes += Buffer.byteLength(text) + 1;
        let line: TranscriptLine | undefined;
        try {
          line = transcriptLineSchema().safeParse(JSON.parse(text)).data;
        } catch {}
        if (line === undefined) damagedLines += 1;
        else picked.push(line);
        if (line?.type === "message") messages += 1;
        const enough = messages >= request.messages || bytes >= request.maxBytes;
        const startsTurn = line?.type === "turn-start" || line?.type === "session-start";
        if ((enough && startsTurn) || bytes >= request.maxBytes * TURN_BYTES_FACTOR) {
          begins = lineAt;
          return false;
        }
      }
      begins = 0;
      return true;
    },
    { ...(request.before !== undefined ? { end: request.before } : {}), ...(request.chunkBytes ? { chunkBytes: request.chunkBytes } : {}) },
  );
  if (!checked) throw new TranscriptCursorError(`${request.before} is past the end of this transcript (${size} bytes); open the session again.`);
  return { lines: picked.reverse(), damagedLines, before: begins > 0 ? begins : null };
}
