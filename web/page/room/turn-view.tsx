import type { Reply, RoomNote, RoomState, Turn } from "../../room-state.ts";
import { Pure } from "../pure.tsx";
import { ReplyBody } from "./reply-view.tsx";

/** A note of the room (a mode, a wish, a compaction…), under the persona it is about. */
export function NoteLine({ note }: { note: RoomNote }) {
  return (
    <div class={`note ${note.kind}`}>
      {note.persona ? `${note.persona}: ` : ""}
      {note.text}
    </div>
  );
}

/** A finished turn in the transcript: what the user sent, each reply under its persona's name, the room's notes. */
export function PastTurn({ turn }: { turn: Turn }) {
  return (
    <div class="turn">
      {turn.text !== "" && (
        <div class="user-message">
          <span class="who">you</span>
          <div class="user-text">{turn.text}</div>
        </div>
      )}
      {turn.replies.map((reply) => (
        <article key={reply.replyId} class="reply" aria-label={`${reply.persona}'s reply`}>
          <div class="who">{reply.persona}</div>
          <ReplyBody reply={reply} />
        </article>
      ))}
      {turn.notes.map((note, index) => (
        <NoteLine key={`${index}`} note={note} />
      ))}
    </div>
  );
}

/** A persona's model window beside its name (`4096-token window`), where it came from on hover. */
function LaneWindow({ window }: { window: { tokens: number; source: string; detail?: string | undefined } | undefined }) {
  if (!window) return null;
  return (
    <span class="lane-window muted" title={`${window.source}${window.detail ? `: ${window.detail}` : ""}`}>
      {` ${window.tokens}-token window (${window.source})`}
    </span>
  );
}

type LanesProps = { state: RoomState; turn: Turn | undefined; onAnswer: (id: string, answer: "yes" | "no" | "always") => void };

/** Each persona's lane: a region named by the persona, its replies of the newest turn streaming side by side. */
export function Lanes({ state, turn, onAnswer }: LanesProps) {
  const byPersona = new Map<string, Reply[]>();
  for (const reply of turn?.replies ?? []) byPersona.set(reply.persona, [...(byPersona.get(reply.persona) ?? []), reply]);
  return (
    <div class="lanes">
      {state.personas.map((persona) => {
        const replies = byPersona.get(persona) ?? [];
        const busy = replies.some((reply) => !reply.done);
        return (
          <section key={persona} class={`lane ${busy ? "busy" : ""}`} aria-label={persona} aria-live="polite" aria-busy={busy}>
            <h2 class="lane-name">
              {persona}
              <LaneWindow window={state.windows?.[persona]} />
              {busy ? <span class="dot" title="replying" /> : null}
            </h2>
            {replies.length === 0 ? (
              <div class="muted">{turn ? "no reply this turn" : "idle"}</div>
            ) : (
              replies.map((reply) => <Pure key={reply.replyId} stamp={reply.rev} render={() => <ReplyBody reply={reply} onAnswer={onAnswer} />} />)
            )}
          </section>
        );
      })}
    </div>
  );
}

