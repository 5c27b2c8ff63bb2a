import { useEffect, useRef } from "preact/hooks";
import { Composer, SaidBox } from "./composer.tsx";
import { RoomBar } from "./room-bar.tsx";
import { TranscriptView } from "./transcript-view.tsx";
import type { useRoom } from "./use-room.ts";
import { useRoomLine } from "./use-room-line.ts";

/** Escape stops the replies wherever the focus is, while they run; the listener reads what runs now through a ref. */
function useEscapeStops(running: boolean, stop: () => void) {
  const keys = useRef({ running, stop });
  keys.current = { running, stop };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && keys.current.running) {
        event.preventDefault();
        keys.current.stop();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);
}

type RoomProps = { session: string | undefined; choose: (id: string) => void; sessionProblem: string | undefined; room: ReturnType<typeof useRoom> };

/** The room: the transcript (only what is on screen is drawn), the newest turn's lanes, and the message box. */
export function RoomView({ session, choose, sessionProblem, room }: RoomProps) {
  const { state } = room;
  const line = useRoomLine(session, room);
  const running = state.turns.at(-1)?.done === false;
  const onAnswer = (id: string, answer: "yes" | "no" | "always") => void room.answer(id, answer).catch(line.fail);
  const stop = () => void room.stop().catch(line.fail);
  useEscapeStops(running, stop);
  const problem = line.problem ?? sessionProblem ?? room.problem;
  return (
    <div class="room">
      <RoomBar session={session} choose={choose} connection={room.connection} mode={state.mode} fail={line.fail} />
      <TranscriptView session={session} room={room} onAnswer={onAnswer} />
      {line.said && <SaidBox said={line.said} close={line.closeSaid} />}
      {problem && (
        <div class="error" role="alert">
          {problem}
        </div>
      )}
      <Composer submit={line.submit} stop={stop} running={running} />
    </div>
  );
}
