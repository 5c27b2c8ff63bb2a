import type { RefObject } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import type { Turn } from "../../room-state.ts";
import { Pure } from "../pure.tsx";
import { VirtualList } from "../virtual-list.tsx";
import { Lanes, NoteLine, PastTurn } from "./turn-view.tsx";
import type { useRoom } from "./use-room.ts";

type Answer = (id: string, answer: "yes" | "no" | "always") => void;
type TranscriptProps = { session: string | undefined; room: ReturnType<typeof useRoom>; onAnswer: Answer };
type PastProps = { session: string | undefined; past: Turn[]; scroller: RefObject<HTMLDivElement | null>; loadOlder: () => void };

/** The finished turns, drawn again only when one of them changed, or turns came before or after them. */
function PastTurns({ session, past, scroller, loadOlder }: PastProps) {
  let revisions = 0;
  for (const turn of past) revisions += turn.rev;
  const stamp = `${session} ${past.length} ${past[0]?.turnId ?? ""} ${revisions}`;
  return (
    <Pure
      stamp={stamp}
      render={() => (
        <VirtualList key={session} items={past} keyOf={(turn) => turn.turnId} estimate={160} scroller={scroller} onNearStart={loadOlder} startAtEnd>
          {(turn) => <PastTurn turn={turn} />}
        </VirtualList>
      )}
    />
  );
}

/** The transcript: the room's notes, earlier messages on demand, the finished turns (only what is on screen), the newest turn's lanes. */
export function TranscriptView({ session, room, onAnswer }: TranscriptProps) {
  const { state } = room;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  // Kept at the end while the reader is there: a streaming reply scrolls into view, one read above it stays put.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  });
  const newest = state.turns.at(-1);
  return (
    <div
      class="scroller"
      ref={scroller}
      onScroll={(event) => {
        const element = event.currentTarget;
        atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
      }}
    >
      {state.notes.map((note, index) => (
        <NoteLine key={`${index}`} note={note} />
      ))}
      {room.older.cursor !== null && (
        <div class="older">
          <button type="button" class="link" onClick={() => void room.loadOlder()} aria-disabled={room.older.loading}>
            {room.older.loading ? "Reading earlier messages…" : "Earlier messages"}
          </button>
        </div>
      )}
      <PastTurns session={session} past={state.turns.slice(0, -1)} scroller={scroller} loadOlder={room.loadOlder} />
      {newest && newest.text !== "" && (
        <div class="user-message current">
          <span class="who">you</span>
          <div class="user-text">{newest.text}</div>
        </div>
      )}
      <Lanes state={state} turn={newest} onAnswer={onAnswer} />
      {newest?.notes.map((note, index) => (
        <NoteLine key={`${index}`} note={note} />
      ))}
    </div>
  );
}
