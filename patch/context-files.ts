import { closeSync, fstatSync, readSync } from "node:fs";
import { openFileBelow } from "../sandbox/read-sandbox-file.ts";
import { PatchTaskError } from "./patch-task.ts";

/** Bytes of one context file the model is given; a longer file is cut with a note. */
const MAX_CONTEXT_FILE_BYTES = 128 * 1024;
/** Bytes of all context files together. */
const MAX_CONTEXT_BYTES = 512 * 1024;

/**
 * Reads the task's context files (paths already checked to be plain and relative) from `contextDir`, each component
 * opened without following a link (a folder of the context root that is a link to /etc is refused, not read through),
 * bounded in size. A file that cannot be read is a bad task (PatchTaskError).
 */
export function readContextFiles(contextDir: string, paths: readonly string[]): { path: string; text: string }[] {
  let total = 0;
  return paths.map((path) => {
    const cannot = (why: string) =>
      new PatchTaskError(
        `context file ${path} cannot be read from ${contextDir} (${why}): set --context or CONTEXT_ROOT to ` +
          `the folder that holds it, or take it out of the task's context`,
      );
    let fd: number | undefined;
    try {
      fd = openFileBelow(contextDir, path);
    } catch (error) {
      throw cannot(error instanceof Error ? error.message : String(error));
    }
    if (fd === undefined) throw cannot("no such file");
    try {
      if (!fstatSync(fd).isFile()) throw new PatchTaskError(`context file ${path} in ${contextDir} is not a regular file`);
      const room = Math.max(0, Math.min(MAX_CONTEXT_FILE_BYTES, MAX_CONTEXT_BYTES - total));
      const buffer = Buffer.alloc(room + 1);
      const read = room === 0 ? 0 : readSync(fd, buffer, 0, room + 1, 0);
      total += Math.min(read, room);
      const text = buffer.subarray(0, Math.min(read, room)).toString("utf8");
      return {
        path,
        text: read > room ? `${text}\n[… cut: context is limited to ${MAX_CONTEXT_FILE_BYTES} bytes a file, ${MAX_CONTEXT_BYTES} in all]` : text,
      };
    } finally {
      closeSync(fd);
    }
  });
}
