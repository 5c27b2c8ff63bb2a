import type { RoomMessage } from "../personas/room-message.ts";
import { appendInsideWorkspace } from "../security/safe-file-write.ts";

/**
 * Appends a finished reply to its file (file mode) as a Markdown section; returns the bytes written. Checked
 * again at write time, and written without following any link: the path may have changed since the mode was
 * set. Throws UnsafeWriteError for a refused target, or the file system's error.
 */
export function appendReplyToFile(workspaceDir: string, message: RoomMessage & { file: string }, protectedFiles: readonly string[]): number {
  const failed = message.failed !== undefined ? `\n(reply ended early: ${message.failed})\n` : "";
  const block = `## ${message.from} — ${message.time}\n\n${message.text}\n${failed}\n`;
  return appendInsideWorkspace(workspaceDir, message.file, block, { protectedFiles }).bytes;
}
