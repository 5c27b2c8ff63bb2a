import { closeSync, openSync, readSync } from "node:fs";
import { GitCommandError } from "./git-command-error.ts";

// A bundle is a text header (a signature line, capabilities, prerequisites, refs) ended by an empty line, then a pack.
const HEADER_END = Buffer.from("\n\n");
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** Where the pack of the bundle `file` starts: just past the header's empty line. Throws when no header ends. */
export function bundlePackOffset(file: string): number {
  const fd = openSync(file, "r");
  try {
    let header = Buffer.alloc(0);
    while (header.length < MAX_HEADER_BYTES) {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      const read = readSync(fd, chunk, 0, CHUNK_BYTES, header.length);
      // The end may straddle two chunks: search from one byte back.
      const from = Math.max(0, header.length - 1);
      header = Buffer.concat([header, chunk.subarray(0, read)]);
      const end = header.indexOf(HEADER_END, from);
      if (end >= 0) return end + HEADER_END.length;
      if (read === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  throw new GitCommandError(`git bundle failed: ${file} has no bundle header (no empty line ends one)`);
}
