import type { TranscriptLine } from "./transcript-line.ts";

/** Keeps a searchable copy of every transcript line (memory): told each line once it is on disk. */
export type TranscriptIndex = {
  index(sessionId: string, line: TranscriptLine): void;
  /** What it has to say since last asked (a database it had to rebuild). */
  takeNotices(): string[];
};

/**
 * The transcript's `onLine`: memory indexes each line once it is written. What goes wrong there is said
 * once through `say` (after the line's own event), never thrown into the room.
 */
export function memoryIndexer(memory: TranscriptIndex, sessionId: string, say: (message: string) => void): (line: TranscriptLine) => void {
  let failed = false;
  return (line) => {
    let said: string[] = [];
    try {
      memory.index(sessionId, line);
      said = memory.takeNotices();
    } catch (error) {
      if (!failed) {
        said = [
          `memory could not index this session (${error instanceof Error ? error.message : String(error)}); ` +
            `the transcript keeps every event, and 'org memory rebuild' indexes it again.`,
        ];
      }
      failed = true;
    }
    if (said.length > 0) queueMicrotask(() => said.forEach(say));
  };
}
