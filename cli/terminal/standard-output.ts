import { fstatSync, statSync, writeSync } from "node:fs";
import { errorCode } from "../../concurrency/error-code.ts";

// Standard output and error, written straight to their descriptors when they are not a terminal. Touching
// process.stdout or process.stderr makes Bun build a node stream for it, loading node:stream (and node:tty's
// isatty loads node:net too): 13-18 ms of CPU for a process that prints a few lines into a pipe, as every command a
// test runs does. A terminal keeps the stream (its columns, its colours, the line editor's raw mode).

/** What a command writes its lines to: descriptor 1 or 2. */
export type StandardOutput = {
  /** Whether it is a terminal (false for a pipe, a file, a socket, /dev/null). */
  readonly isTerminal: boolean;
  /** The terminal's width; undefined when it is none. */
  columns(): number | undefined;
  /**
   * Writes `text` whole, in order with everything written before it. Throws what the descriptor's write threw
   * (EPIPE once its reader is gone); a full pipe is waited for, as a blocking write waits.
   */
  write(text: string): void;
  /**
   * Hears a write that failed later: a terminal's stream says it with an event (a descriptor written directly throws
   * from `write` instead, so nothing is heard here). Returns how to stop hearing.
   */
  onFailure(listener: (error: Error) => void): () => void;
};

/** Standard output (`fd` 1) or error (2), as it is now. */
export function standardOutput(fd: 1 | 2): StandardOutput {
  // Only a character device can be a terminal: a pipe, file or socket never is, and needs no stream to say so.
  if (!mayBeTerminal(fd)) {
    return { isTerminal: false, columns: () => undefined, write: (text) => writeWhole(fd, text), onFailure: () => () => {} };
  }
  const stream = fd === 1 ? process.stdout : process.stderr;
  return {
    isTerminal: stream.isTTY === true,
    columns: () => (stream.isTTY ? stream.columns : undefined),
    write: (text) => {
      stream.write(text);
    },
    onFailure: (listener) => {
      stream.on("error", listener);
      return () => stream.off("error", listener);
    },
  };
}

function mayBeTerminal(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    // /dev/null, where a test or a service sends what it will not read, is the one other device such a process meets.
    return stat.isCharacterDevice() && stat.rdev !== statSync("/dev/null").rdev;
  } catch {
    // A descriptor that cannot be read is left to the stream, which reports it as it always did.
    return true;
  }
}

/** How long a write into a full non-blocking pipe waits before it tries again. */
const FULL_PIPE_WAIT_MS = 1;

/** `text` written to `fd` whole: a write may take part of it, and a non-blocking descriptor may take none yet. */
function writeWhole(fd: number, text: string): void {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (error) {
      const code = errorCode(error);
      // EAGAIN: a descriptor someone made non-blocking, its pipe full; its reader makes room.
      if (code === "EAGAIN") Bun.sleepSync(FULL_PIPE_WAIT_MS);
      else if (code !== "EINTR") throw error;
    }
  }
}
