import type { Room } from "../room/room.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { readTranscriptPage } from "../room/transcript-page.ts";
import type { SessionTranscript } from "./session-api.ts";
import type { SessionPool } from "./session-pool.ts";

/** Messages the newest turns hold unless asked otherwise, and bytes past which they hold fewer. */
export const TRANSCRIPT_MESSAGES = 100;
export const TRANSCRIPT_BYTES = 512 * 1024;

/**
 * The newest turns of an open room's transcript as the file holds them now, read from its end, and the stream's
 * number they hold every event up to.
 */
function transcriptOf(room: Room, asked: { messages: number; maxBytes: number }): SessionTranscript {
  // Streamed text still gathered in memory is written first; nothing runs between this and the read, so the file
  // holds exactly the events up to `seq`.
  room.flushTranscript();
  const seq = room.events.lastSeq;
  const { lines, damagedLines, before } = readTranscriptPage(room.transcriptPath, asked);
  return {
    session: room.sessionId,
    seq,
    mode: formatRoomMode(room.mode),
    personas: room.personas(),
    running: room.running,
    pendingApprovals: room.pendingApprovals(),
    lines,
    damagedLines,
    before: before === null ? null : String(before),
  };
}

/**
 * `GET /v1/sessions/:id`'s answer, which the web room's page also carries (the room opened, or resumed from its
 * transcript, when it was not). Throws SessionNotFoundError for an unknown session.
 */
export async function sessionTranscript(
  sessions: SessionPool,
  session: string,
  asked: { messages: number; maxBytes: number } = { messages: TRANSCRIPT_MESSAGES, maxBytes: TRANSCRIPT_BYTES },
): Promise<SessionTranscript> {
  const watch = await sessions.watch(session);
  try {
    const room = sessions.openRoom(watch.sessionId) ?? watch.room;
    // Asked before the transcript is read: nothing may run between the flush and the read (transcriptOf).
    const windows = await personaWindows(room);
    const transcript = transcriptOf(room, asked);
    return { ...transcript, personas: transcript.personas.map((persona) => ({ ...persona, ...windows.get(persona.name) })) };
  } finally {
    watch.release();
  }
}

/** Each persona's window as the room's next prompt would be assembled for it (`/context`'s report), by name. */
async function personaWindows(room: Room): Promise<Map<string, { window?: { tokens: number; source: string; detail?: string } }>> {
  const entries = await Promise.all(
    room.personas().map(async (persona) => {
      // A persona whose prompt cannot be assembled now is shown without a window, never fails the page.
      const report = await room.context(persona.name).catch(() => undefined);
      if (!report) return [persona.name, {}] as const;
      const { tokens, source, detail } = report.window;
      return [persona.name, { window: { tokens, source, ...(detail !== undefined ? { detail } : {}) } }] as const;
    }),
  );
  return new Map(entries);
}
