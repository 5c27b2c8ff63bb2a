import { EventRedactor } from "../security/event-redactor.ts";
import { memoryIndexer } from "./memory-indexer.ts";
import type { RoomCore } from "./room-core.ts";
import type { RoomEvent } from "./room-event.ts";
import { formatRoomMode } from "./room-mode.ts";
import { RoomStream } from "./room-stream.ts";
import { Transcript } from "./transcript.ts";

/**
 * The room's events: where whatever a model or server said is redacted before anyone sees it
 * (docs/ARCHITECTURE.md, "Redaction points"; invariant 11), then appended to the transcript (which memory indexes) and handed to the listener.
 */
export function roomEvents(core: RoomCore, sessionsDir: string) {
  const redactor = new EventRedactor(core.config.secrets);
  const stream = core.options.stream ?? new RoomStream();
  const { onEvent } = core.options;
  // Subscribed before the room says anything, so this listener gets every event; a broken one never breaks the room.
  const unsubscribe = onEvent ? stream.subscribe((frame) => frame.kind === "event" && onEvent(frame.event)) : undefined;
  // The transcript first, then the stream: whoever reads the file after the stream's number N finds every event up to N.
  const deliver = (event: RoomEvent) => {
    transcript.append(event);
    stream.publish(event);
  };
  const emit = (event: RoomEvent) => {
    for (const safe of redactor.pass(event)) deliver(safe);
  };
  const memory = core.options.memory;
  const onLine = memory ? memoryIndexer(memory, core.sessionId, (message) => emit({ type: "notice", reason: "memory", message })) : undefined;
  const header = { personas: core.names, mode: formatRoomMode(core.state.mode) };
  const transcript = Transcript.open(sessionsDir, core.sessionId, header, onLine ? { onLine } : {});
  return {
    emit,
    transcript,
    stream,
    close() {
      for (const held of redactor.flush<RoomEvent>()) deliver(held);
      transcript.close();
      unsubscribe?.();
      // A stream made for this room ends with it; one handed in (serve's, kept per session) is its maker's to close.
      if (!core.options.stream) stream.close();
    },
  };
}
